/** A user error in the deployment context or config: names the key and why (printed without a stack trace). */
export class SettingsError extends Error {
  override name = 'SettingsError';
}
