import MASHHub
import MASHService

await HubCommand.launch()
