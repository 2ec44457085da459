/** Pixel rectangle in the EXIF-oriented image. */
export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** One detected face, aligned and embedded. */
export interface DetectedFace {
  /** Face box in pixels of the EXIF-oriented image. */
  box: FaceBox;
  /** Detector confidence in 0..1. */
  score: number;
  /** 5 points: left eye, right eye, nose tip, left mouth corner, right mouth corner (image left/right). */
  landmarks: [number, number][];
  /** Unit-length embedding of the pack's dimensionality. */
  embedding: Float32Array;
}

/** Result of {@link FaceEngine.analyze}. */
export interface FaceAnalysis {
  /** Size of the EXIF-oriented image. */
  width: number;
  height: number;
  faces: DetectedFace[];
}

/** Options of one analyze call. */
export interface AnalyzeOptions {
  /**
   * 'photo' (default) searches the whole frame down to small faces (tiled, multi-scale);
   * 'selfie' assumes one large face and uses a cheaper single pass on a downscaled image.
   */
  mode?: 'photo' | 'selfie';
  /** Override the smallest face width (pixels) searched for in photo mode. @defaultValue 24 */
  minFaceSize?: number;
  /**
   * Latency cap: detector work per photo in 512×512 units of network input (a 1024×1024 tile
   * counts 4); on very large frames the finest scale is coarsened to fit, raising the smallest
   * findable face.
   * The default (300) reaches 24 px faces up to 6000×4000. @defaultValue 300
   */
  maxTiles?: number;
  /**
   * Progressive analysis of live photos (photo mode): 'coarse' runs only the detector's fast passes
   * (the whole image at the detector's size, and the big-face pass); 'fine' only the tiled passes
   * for small faces, and returns just the faces none of `knownBoxes` already covers. Packs without
   * a tiled pyramid analyse everything in 'coarse' and find nothing more in 'fine'. @defaultValue 'all'
   */
  pass?: 'all' | 'coarse' | 'fine';
  /** Faces found before (original pixels): the 'fine' pass leaves out boxes overlapping them. */
  knownBoxes?: FaceBox[];
  /**
   * Awaited between detector runs (tiles, passes) and before landmarks/embedding: lets the caller
   * hold a photo's analysis while selfie searches need the CPU (the worker's search gate).
   */
  yieldPoint?: () => Promise<void>;
}

/** Detect → align → embed behind one interface; implemented per model pack. */
export interface FaceEngine {
  /** Model pack id, stored with every embedding; only same-pack embeddings are comparable. */
  readonly packId: string;
  /** Embedding length (before zero-padding to the storage width). */
  readonly dimensions: number;
  /** Recommended same-person threshold on {@link FaceEngine.similarity}: 0.7 for every pack. */
  readonly threshold: number;
  /** Decodes, detects, aligns and embeds every face. Throws ImageDecodeError on bad input. */
  analyze(image: Buffer, opts?: AnalyzeOptions): Promise<FaceAnalysis>;
  /** Calibrated similarity in [0, 1] of two unit embeddings (padded or not). */
  similarity(a: Float32Array, b: Float32Array): number;
  /** Releases the inference sessions. */
  close(): Promise<void>;
}

/** Options of {@link createFaceEngine}. */
export interface FaceEngineOptions {
  /** Directory for generated and installed models (e.g. ./data/models). */
  modelDir: string;
  /** Model pack to load. @defaultValue 'faceapi-resnet128' */
  packId?: string;
  /** onnxruntime intra-op threads per session. @defaultValue number of CPUs, max 4 */
  intraOpThreads?: number;
  /** Decompression-bomb guard. @defaultValue 100_000_000 */
  maxPixels?: number;
}
