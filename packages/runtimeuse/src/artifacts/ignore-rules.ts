import { isAbsolute, join, relative, sep } from "node:path";
import ignore, { type Ignore } from "ignore";
import { readRegularText } from "../regular-file.js";

/** Name of the per-directory rules file, gitignore syntax, relative to that directory. */
export const ARTIFACT_IGNORE_FILE = ".artifactignore";

/** Rules used when a request carries no inline content and the directory has no `.artifactignore`. */
export const DEFAULT_ARTIFACT_IGNORE: readonly string[] = [
  "node_modules/",
  ".venv/",
  "venv/",
  "env/",
  ".env/",
  "dist/",
  "__pycache__/",
  "__pytest_cache__/",
  ".pytest_cache/",
];

/** A `.artifactignore` larger than this is not read (the default rules apply instead), nor one that is no regular file. */
const MAX_IGNORE_FILE_BYTES = 256 * 1024;

export type IgnoreSource = "inline" | "file" | "default";

/**
 * The ignore rules of one watched directory. Precedence: inline content from
 * the request (pins the rules: a later `.artifactignore` change is not
 * reloaded), else the directory's `.artifactignore`, else the default list.
 * The rules file itself is configuration, never an artifact.
 */
export class IgnoreRules {
  private matcher: Ignore = ignore().add(DEFAULT_ARTIFACT_IGNORE as string[]);
  private inline: string | undefined;
  source: IgnoreSource = "default";
  /** The text the current rules were built from; lets callers tell whether a reload changed anything. */
  text: string = DEFAULT_ARTIFACT_IGNORE.join("\n");

  constructor(private readonly root: string) {}

  get pinned(): boolean {
    return this.inline !== undefined;
  }

  /**
   * Sets the request's inline content (or clears it with `undefined`) and
   * loads the rules. Resolves true when the effective rules changed.
   */
  async configure(inline: string | undefined): Promise<boolean> {
    this.inline = inline;
    return this.reload();
  }

  /** Re-reads the rules from their source. Resolves true when they changed. */
  async reload(): Promise<boolean> {
    const before = `${this.source}\0${this.text}`;
    if (this.inline !== undefined) {
      this.use("inline", this.inline);
    } else {
      const fromFile = await readIgnoreFile(join(this.root, ARTIFACT_IGNORE_FILE));
      if (fromFile === undefined) this.use("default", DEFAULT_ARTIFACT_IGNORE.join("\n"));
      else this.use("file", fromFile);
    }
    return before !== `${this.source}\0${this.text}`;
  }

  /**
   * Whether an absolute path under the root is ignored. `isDirectory`
   * undefined means "not known yet": only rules that match any kind of entry
   * apply (directory-only rules such as `dist/` are checked once it is known).
   */
  ignores(path: string, isDirectory: boolean | undefined): boolean {
    const rel = relative(this.root, path);
    if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return false;
    const posix = sep === "/" ? rel : rel.split(sep).join("/");
    if (posix === ARTIFACT_IGNORE_FILE) return isDirectory !== true;
    if (this.matcher.ignores(posix)) return true;
    return isDirectory === true && this.matcher.ignores(`${posix}/`);
  }

  private use(source: IgnoreSource, text: string): void {
    this.source = source;
    this.text = text;
    this.matcher = ignore().add(text);
  }
}

/** The rules file's text; undefined when it is missing, not a regular file, or too large (its size is read first). */
async function readIgnoreFile(path: string): Promise<string | undefined> {
  try {
    return (await readRegularText(path, MAX_IGNORE_FILE_BYTES)).text;
  } catch {
    return undefined;
  }
}
