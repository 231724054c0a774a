// The tool's version, recorded in every image's manifest.
export const VERSION = "0.1.0";
