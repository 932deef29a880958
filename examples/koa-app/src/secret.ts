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
