// The shared SessionStore contract, run against the in-process store.
import { memoryStore } from '@sesame/core'
import { runStoreContract } from '../../../test/support/store-contract.js'

runStoreContract('memoryStore', async () => {
  const store = memoryStore()
  return { store, cleanup: async () => store.close() }
})
