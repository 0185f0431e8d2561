/** The URL without credentials, query or fragment: safe for error messages (a `?token=` never leaks). */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return "(invalid URL)";
  }
}

/** `url` with `token` as its `token` query parameter, for transports that cannot send headers. */
export function withTokenParam(url: string, token: string | undefined): string {
  if (token === undefined) return url;
  const parsed = new URL(url);
  parsed.searchParams.set("token", token);
  return parsed.toString();
}
