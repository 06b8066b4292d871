import Coordinator

await CoordinatorCommand.launch()
