// Demo accounts. A real app checks a password hash (argon2/scrypt) from its user database.
export const users: Record<string, { password: string; name: string }> = {
  alice: { password: 'wonderland', name: 'Alice' },
  bob: { password: 'builder', name: 'Bob' },
}

export function checkLogin(username: unknown, password: unknown): string | undefined {
  if (typeof username !== 'string' || typeof password !== 'string') return undefined
  const user = Object.hasOwn(users, username) ? users[username] : undefined
  return user && user.password === password ? username : undefined
}
