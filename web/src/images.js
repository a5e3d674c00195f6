// Pictures from the camera or gallery, made light before upload: phones take
// 4000-px photos of several MB, which a weak evening connection should not
// carry. Anything larger than MAX_EDGE or heavier than KEEP_BYTES is redrawn
// as a JPEG of at most MAX_EDGE pixels on the long side.

export const MAX_EDGE = 1600;
export const KEEP_BYTES = 400 * 1024;
export const ACCEPTED = ["image/jpeg", "image/png", "image/webp", "image/gif"];
export const MAX_UPLOAD = 8 * 1024 * 1024;

/** Size that fits within max×max keeping the aspect ratio. Pure. */
export function fitWithin(width, height, max = MAX_EDGE) {
  const long = Math.max(width, height);
  if (long <= max) return { width, height, scaled: false };
  const k = max / long;
  return { width: Math.max(1, Math.round(width * k)), height: Math.max(1, Math.round(height * k)), scaled: true };
}

/** Whether a picture can be sent as it is. Pure. */
export function keepAsIs({ type, size, width, height }) {
  return ACCEPTED.includes(type) && size <= KEEP_BYTES && Math.max(width, height) <= MAX_EDGE;
}

async function decode(file) {
  if (typeof createImageBitmap === "function") {
    try {
      return await createImageBitmap(file, { imageOrientation: "from-image" });
    } catch {
      /* fall back to <img> below (older Safari) */
    }
  }
  const url = URL.createObjectURL(file);
  try {
    const img = new Image();
    img.decoding = "async";
    img.src = url;
    await img.decode();
    return img;
  } finally {
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }
}

/** Make a File/Blob ready for POST /api/v1/me/uploads. Browser only. */
export async function prepareImage(file) {
  if (file.type === "image/gif" && file.size <= MAX_UPLOAD) return file; // keep animation
  const img = await decode(file);
  const w0 = img.width || img.naturalWidth;
  const h0 = img.height || img.naturalHeight;
  if (keepAsIs({ type: file.type, size: file.size, width: w0, height: h0 })) return file;
  const { width, height } = fitWithin(w0, h0);
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#ffffff"; // transparent PNG areas turn white, not black
  ctx.fillRect(0, 0, width, height);
  ctx.drawImage(img, 0, 0, width, height);
  if (typeof img.close === "function") img.close();
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.82));
  if (!blob) throw new Error("image encode failed");
  if (ACCEPTED.includes(file.type) && file.size <= blob.size && file.size <= MAX_UPLOAD && Math.max(w0, h0) <= MAX_EDGE) {
    return file;
  }
  return blob;
}
