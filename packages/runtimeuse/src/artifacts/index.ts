// Loads no watcher: chokidar and the ignore rules load with `loadWatching`
// (the first watch, or the server's preload), so the server starts without them.
export { ArtifactManager, ArtifactsDirError, loadWatching } from "./manager.js";
export {
  ARTIFACT_DEFAULTS,
  type ArtifactManagerOptions,
  type ArtifactOffer,
  type ArtifactSettings,
  validateArtifactSettings,
} from "./options.js";
