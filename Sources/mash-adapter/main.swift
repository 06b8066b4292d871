import Adapter
import MASHService

await AdapterCommand.launch()
