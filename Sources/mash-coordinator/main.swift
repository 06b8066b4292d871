import Coordinator
import MASHService

await CoordinatorCommand.launch()
