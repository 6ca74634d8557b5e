// A module imported on first use and kept: the document loaders' libraries (pdfjs-dist, mammoth, jszip) load only
// when a file of their kind is met, so an ingest of text files never pays for them.

export function lazy<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | null = null;
  return () => (loaded ??= load());
}
