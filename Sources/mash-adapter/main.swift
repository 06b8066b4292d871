import Adapter

await AdapterCommand.launch()
