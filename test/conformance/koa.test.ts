import { koaHarness } from './koa.harness.js'
import { runConformance } from './behaviours.js'

runConformance(koaHarness)
