import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

/** Extensions the uploader picks up (the server accepts these formats, recognised from the bytes). */
export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.avif', '.tif', '.tiff']);

/** One file to upload. */
export interface ImageFile {
  path: string;
  size: number;
}

/** What a scan found: image files to upload and how many other files were left alone. */
export interface ScanResult {
  files: ImageFile[];
  ignored: number;
}

export const isImage = (name: string): boolean => IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase());
export const isHidden = (name: string): boolean => name.startsWith('.');

/**
 * Expands folders (recursively) and files into the image files to upload, sorted by path.
 * Hidden files and folders are skipped (.DS_Store, .thumbnails…); a path that does not exist is an error.
 */
export async function scanImageFiles(inputs: string[]): Promise<ScanResult> {
  const found = new Map<string, number>();
  let ignored = 0;

  const walk = async (dir: string): Promise<void> => {
    for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
      if (isHidden(entry.name)) continue;
      const full = path.join(dir, entry.name);
      // Symlinked folders are not followed: they can loop; symlinked files are uploaded.
      const stat = entry.isSymbolicLink() ? await fsp.stat(full).catch(() => undefined) : undefined;
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile() || stat?.isFile()) {
        if (isImage(entry.name)) found.set(full, (stat ?? (await fsp.stat(full))).size);
        else ignored++;
      }
    }
  };

  for (const input of inputs) {
    const full = path.resolve(input);
    const stat = await fsp.stat(full).catch(() => undefined);
    if (!stat) throw new Error(`No such file or folder: ${input}`);
    if (stat.isDirectory()) await walk(full);
    else if (isImage(full)) found.set(full, stat.size);
    else ignored++;
  }
  const files = [...found].map(([p, size]) => ({ path: p, size })).sort((a, b) => a.path.localeCompare(b.path));
  return { files, ignored };
}

/** SHA-256 (hex) of a file's bytes, streamed: the same digest the server keeps for the upload. */
export async function hashFile(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
