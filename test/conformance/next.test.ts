import { nextHarness } from './next.harness.js'
import { runConformance } from './behaviours.js'

runConformance(nextHarness)
