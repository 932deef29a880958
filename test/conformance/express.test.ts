import { expressHarness } from './express.harness.js'
import { runConformance } from './behaviours.js'

runConformance(expressHarness)
