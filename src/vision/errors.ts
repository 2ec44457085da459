/** Base class of every error the face engine throws on purpose. */
export class VisionError extends Error {
  /** Machine-readable reason, stable across versions. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Why an image could not be decoded. */
export type ImageDecodeErrorCode = 'empty' | 'not_image' | 'truncated' | 'too_large' | 'unsupported';

/** The input bytes are not a usable image; retrying the same bytes cannot help. */
export class ImageDecodeError extends VisionError {
  declare readonly code: ImageDecodeErrorCode;
  constructor(code: ImageDecodeErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** Why a model pack is unusable. */
export type ModelPackErrorCode = 'not_found' | 'invalid' | 'unzip_missing' | 'unknown_pack';

/** A model pack is missing, malformed or not installed. */
export class ModelPackError extends VisionError {
  declare readonly code: ModelPackErrorCode;
  constructor(code: ModelPackErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
