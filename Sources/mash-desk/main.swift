import Desk
import MASHService

await DeskCommand.launch()
