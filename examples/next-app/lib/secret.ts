// SESSION_SECRET, checked before anything starts. sesame refuses a secret shorter than 32
// characters at start-up (SessionConfigError); checking here first lets the one line printed name
// the variable to fix and say how to make a good value, instead of a stack trace.
export const MIN_SECRET_LENGTH = 32
export const GENERATE_SECRET = `node -e "console.log(crypto.randomBytes(32).toString('base64url'))"`

/** The secret from the environment, or the line that says why there is none worth using. */
export function sessionSecret(env: NodeJS.ProcessEnv): { secret: string } | { problem: string } {
  const secret = env.SESSION_SECRET
  if (secret !== undefined && secret.length >= MIN_SECRET_LENGTH) return { secret }
  const what = secret === undefined || secret === '' ? 'is not set' : `is ${secret.length} characters`
  return { problem: `SESSION_SECRET ${what}; sesame needs at least ${MIN_SECRET_LENGTH} random characters. Generate one with: ${GENERATE_SECRET}` }
}

/** `next build` evaluates route modules to collect page data and serves nothing. */
export const building = process.env.NEXT_PHASE === 'phase-production-build'

/**
 * The secret for nextSession(): during `next build` a placeholder that never seals a cookie (no
 * request is served then). At run time instrumentation.ts has already stopped the server when
 * SESSION_SECRET is missing or short; the throw is for `next dev`, which shows it in its overlay.
 */
export function nextSessionSecret(): string {
  const checked = sessionSecret(process.env)
  if ('secret' in checked) return checked.secret
  if (building) return 'only-for-next-build-never-seals-a-cookie'
  throw new Error(checked.problem)
}
