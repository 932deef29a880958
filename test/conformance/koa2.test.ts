import Koa2 from 'koa2'
import type Koa from 'koa'
import { koaHarnessFor } from './koa.harness.js'
import { runConformance } from './behaviours.js'

runConformance(koaHarnessFor('koa 2', Koa2 as unknown as typeof Koa))
