import { PNG } from "pngjs";

/** A PNG of random pixels: it does not compress, so it takes about width × height × 3 bytes. */
export function noisyPng(width: number, height: number): Buffer {
  const png = new PNG({ width, height, colorType: 2 });
  for (let i = 0; i < png.data.length; i++) png.data[i] = i % 4 === 3 ? 255 : Math.floor(Math.random() * 256);
  return PNG.sync.write(png, { colorType: 2 });
}
