// Loads no watcher: chokidar and the ignore rules load on the first watch
// (the manager imports watched-root.ts then), so the server starts without them.
export { ArtifactManager } from "./manager.js";
export {
  ARTIFACT_DEFAULTS,
  type ArtifactManagerOptions,
  type ArtifactOffer,
  type ArtifactSettings,
  validateArtifactSettings,
} from "./options.js";
