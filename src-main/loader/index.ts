// Loader packages: a folder holding loader.json (the manifest) and the loader image that is staged in
// the chip's RAM; plus ST .stldr files, read for their geometry only. Below the planner, which turns a
// package into its own terms (plan/loader.ts toPlanLoader):
//   const pkg = await readLoaderPackage('assets/loaders/sim-f746-qspi', text, readFile);

export { parseManifest, MAX_TRANSFER_SIZE, type LoaderManifest } from './manifest.js';
export { autoLoaderCandidates } from './choice.js';
export { readLoaderPackage, loaderSupportsChip, withNonce, nonceString, type LoaderPackage } from './package.js';
