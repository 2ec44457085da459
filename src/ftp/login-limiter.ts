/**
 * Failed FTP logins per client address in a sliding window. FTP has no lockout of its own and a
 * camera account's password is the only secret, so an address that keeps failing is refused
 * without its password being checked (which also spares the scrypt work) until the window passes.
 */
export function createLoginLimiter(options: { maxFailures: number; windowMs: number; now?: () => number }) {
  const now = options.now ?? Date.now;
  const failures = new Map<string, number[]>();
  const recent = (address: string): number[] => {
    const since = now() - options.windowMs;
    const kept = (failures.get(address) ?? []).filter((at) => at > since);
    if (kept.length > 0) failures.set(address, kept);
    else failures.delete(address);
    return kept;
  };
  return {
    /** Whether this address may try a password now. */
    allowed: (address: string): boolean => recent(address).length < options.maxFailures,
    fail(address: string): void {
      failures.set(address, [...recent(address), now()]);
    },
  };
}
