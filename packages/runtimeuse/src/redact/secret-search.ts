/**
 * Where secrets occur in a text. With a few secrets, each is searched on its
 * own with V8's string search, the fastest way for one pattern. That costs a
 * pass over the text per secret, so with many secrets (a client that lists
 * every credential of its deployment) the runtime would redact slower and
 * slower; from `INDEX_FROM` secrets on, the secrets of at least `WINDOW`
 * characters are found in one pass instead: a rolling hash of every window
 * of `WINDOW` characters is looked up among the hashes of the secrets' first
 * `WINDOW` characters, and a secret is confirmed where its hash matches. The
 * shorter ones are searched one by one, unless they are many
 * (`SHORT_SETS_FROM`): then every position of the text is looked up in a set
 * per length, at most `WINDOW - 1` lookups whatever their number. All ways
 * find every occurrence, overlapping ones included: the same positions, in a
 * different order.
 *
 * Secrets often share their first window (`sk-proj-`, a deployment's common
 * prefix). A few of them sharing a hash are tried one by one where it matches;
 * past `LIST_LIMIT`, they are grouped by length and a match is one set lookup
 * per length, so that thousands of them sharing a prefix cost neither a
 * quadratic index nor a pass over all of them wherever the prefix occurs.
 */

/** From this many secrets on, the longer ones are found through an index (about where it starts to pay, measured). */
export const INDEX_FROM = 48;
/** Characters (UTF-16 code units) of a secret's start that the index hashes; shorter secrets are searched one by one. */
export const WINDOW = 8;
/**
 * From this many secrets shorter than `WINDOW` on, they are looked up by
 * length at every position instead of searched one by one: about where that
 * pays on a megabyte of text (measured: 1,000 of them took 529 ms one by one
 * and 184 ms by length, 200 took 104 and 193 ms).
 */
export const SHORT_SETS_FROM = 512;

const BASE = 0x01000193;
/** `BASE` to the power `WINDOW - 1`, modulo 2^32: what the character leaving the window weighs. */
const BASE_OUT = (() => {
  let power = 1;
  for (let i = 1; i < WINDOW; i++) power = Math.imul(power, BASE);
  return power;
})();
/** Bits of the filter that most windows are answered by, without a map lookup. */
const FILTER_BITS = 1 << 16;

interface SecretIndex {
  /** The secrets it was made from, in order: a list (not frozen) changed in place since is indexed again. */
  of: readonly string[];
  /** Secrets shorter than `WINDOW`, searched one by one. */
  short: string[];
  /** The same, by length, once they are `SHORT_SETS_FROM` or more (and `short` is then empty). */
  shortByLength: Map<number, Set<string>> | undefined;
  /** One bit per filter slot: set when some secret's first window hashes to it. */
  filter: Uint32Array;
  /** The secrets of at least `WINDOW` characters, by the hash of their first window. */
  byHash: Map<number, Bucket>;
}

/** Secrets whose first windows hash alike: a list while at most `LIST_LIMIT`, then sets by length. */
type Bucket = string[] | Map<number, Set<string>>;

/** Most secrets a bucket tries one by one with `startsWith` (cheaper than a substring and a set lookup). */
const LIST_LIMIT = 8;

/**
 * Each list's index, made on its first search. The runtime's lists are
 * frozen (`normalizeSecrets`) and replaced when they grow; a caller of
 * `redactText` may change its own in place, so the index of a list that is
 * not frozen is used only while the list still holds what it was made from.
 */
const indexes = new WeakMap<readonly string[], SecretIndex>();

/** The hash of `text`'s `WINDOW` characters from `start`. */
function windowHash(text: string, start: number): number {
  let hash = 0;
  for (let i = start; i < start + WINDOW; i++) hash = (Math.imul(hash, BASE) + text.charCodeAt(i)) | 0;
  return hash;
}

function slotOf(hash: number): number {
  return (hash ^ (hash >>> 16)) & (FILTER_BITS - 1);
}

function indexFor(secrets: readonly string[]): SecretIndex {
  let index = indexes.get(secrets);
  if (index !== undefined && (Object.isFrozen(secrets) || sameList(index.of, secrets))) return index;
  // A frozen list cannot change: it is its own record of what was indexed.
  index = {
    of: Object.isFrozen(secrets) ? secrets : [...secrets],
    short: [],
    shortByLength: undefined,
    filter: new Uint32Array(FILTER_BITS / 32),
    byHash: new Map(),
  };
  const seen = new Set<string>();
  for (const secret of secrets) {
    if (secret.length === 0 || seen.has(secret)) continue;
    seen.add(secret);
    if (secret.length < WINDOW) {
      index.short.push(secret);
      continue;
    }
    const hash = windowHash(secret, 0);
    const slot = slotOf(hash);
    index.filter[slot >>> 5] = (index.filter[slot >>> 5] as number) | (1 << (slot & 31));
    const bucket = index.byHash.get(hash);
    if (bucket === undefined) index.byHash.set(hash, [secret]);
    else if (!Array.isArray(bucket)) addByLength(bucket, secret);
    else if (bucket.length < LIST_LIMIT) bucket.push(secret);
    else {
      const byLength = new Map<number, Set<string>>();
      for (const same of bucket) addByLength(byLength, same);
      addByLength(byLength, secret);
      index.byHash.set(hash, byLength);
    }
  }
  if (index.short.length >= SHORT_SETS_FROM) {
    index.shortByLength = new Map();
    for (const secret of index.short) addByLength(index.shortByLength, secret);
    index.short = [];
  }
  indexes.set(secrets, index);
  return index;
}

function addByLength(byLength: Map<number, Set<string>>, secret: string): void {
  const group = byLength.get(secret.length);
  if (group === undefined) byLength.set(secret.length, new Set([secret]));
  else group.add(secret);
}

/** Calls `found` for each secret of `bucket` that starts at `start`; true when `found` asked to stop. */
function foundAt(
  text: string,
  start: number,
  bucket: Bucket,
  found: (start: number, secret: string) => boolean | undefined,
): boolean {
  if (Array.isArray(bucket)) {
    for (const secret of bucket) if (text.startsWith(secret, start) && found(start, secret)) return true;
    return false;
  }
  return foundInGroups(text, start, bucket, found);
}

/** Calls `found` for each secret of `groups` (sets by length) that starts at `start`; true when `found` asked to stop. */
function foundInGroups(
  text: string,
  start: number,
  groups: Iterable<readonly [number, Set<string>]>,
  found: (start: number, secret: string) => boolean | undefined,
): boolean {
  for (const [length, group] of groups) {
    if (start + length > text.length) continue;
    const candidate = text.slice(start, start + length);
    if (group.has(candidate) && found(start, candidate)) return true;
  }
  return false;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Calls `found` for every occurrence of every secret in `text` (its start
 * and the secret), until `found` returns true; returns whether it did.
 * Empty secrets never occur.
 */
export function findSecrets(
  text: string,
  secrets: readonly string[],
  found: (start: number, secret: string) => boolean | undefined,
): boolean {
  if (secrets.length < INDEX_FROM) return searchEach(text, secrets, found);
  const index = indexFor(secrets);
  if (searchEach(text, index.short, found)) return true;
  if (index.shortByLength !== undefined && searchByLength(text, index.shortByLength, found)) return true;
  if (text.length < WINDOW || index.byHash.size === 0) return false;
  const { filter, byHash } = index;
  let hash = windowHash(text, 0);
  for (let start = 0; ; start++) {
    const slot = slotOf(hash);
    if (((filter[slot >>> 5] as number) & (1 << (slot & 31))) !== 0) {
      const bucket = byHash.get(hash);
      if (bucket !== undefined && foundAt(text, start, bucket, found)) return true;
    }
    const next = start + WINDOW;
    if (next >= text.length) return false;
    hash = (Math.imul(hash - Math.imul(text.charCodeAt(start), BASE_OUT), BASE) + text.charCodeAt(next)) | 0;
  }
}

/** Every position of `text` looked up in each length's set; true when `found` asked to stop. */
function searchByLength(
  text: string,
  byLength: Map<number, Set<string>>,
  found: (start: number, secret: string) => boolean | undefined,
): boolean {
  const groups = [...byLength];
  for (let start = 0; start < text.length; start++) if (foundInGroups(text, start, groups, found)) return true;
  return false;
}

/** Each secret on its own; true when `found` asked to stop. */
function searchEach(
  text: string,
  secrets: readonly string[],
  found: (start: number, secret: string) => boolean | undefined,
): boolean {
  for (const secret of secrets) {
    if (secret.length === 0 || secret.length > text.length) continue;
    for (let at = text.indexOf(secret); at !== -1; at = text.indexOf(secret, at + 1)) {
      if (found(at, secret)) return true;
    }
  }
  return false;
}

/**
 * Whether any secret occurs in `text`: most strings hold none. With few
 * secrets this allocates nothing: it runs for every string of every frame,
 * and an array iterator (`for...of`) that the compiler does not optimise
 * away costs a 100,000-message burst 16 MiB of peak RSS.
 */
export function containsSecret(text: string, secrets: readonly string[]): boolean {
  if (secrets.length < INDEX_FROM) {
    for (let i = 0; i < secrets.length; i++) {
      const secret = secrets[i] as string;
      if (secret.length > 0 && secret.length <= text.length && text.includes(secret)) return true;
    }
    return false;
  }
  return findSecrets(text, secrets, stopAtFirst);
}

/**
 * Stops a search at its first occurrence. A module-level function: a closure
 * over a local flag would make every call of `containsSecret` allocate its
 * context, on the path every string of every frame takes.
 */
const stopAtFirst = () => true;
