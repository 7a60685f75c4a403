// The dispatch board's drawing (docs/web.md, "Dispatch board"): points of
// latitude and longitude onto a plain SVG plot, no map tiles. An
// equirectangular projection around the points' middle latitude (longitude
// shrunk by its cosine, so a city's shape is kept), scaled to fit the box
// with a margin and the same scale on both axes.
import type { LatLon } from "../../api/types";

export interface Box {
  width: number;
  height: number;
  margin: number;
}

export type Project = (p: LatLon) => { x: number; y: number };

/** A projection that fits every point inside the box (north up). */
export function fitProjection(points: LatLon[], box: Box): Project {
  if (points.length === 0) return () => ({ x: box.width / 2, y: box.height / 2 });
  const lats = points.map((p) => p.lat);
  const minLat = Math.min(...lats);
  const maxLat = Math.max(...lats);
  const k = Math.cos((((minLat + maxLat) / 2) * Math.PI) / 180);
  const xs = points.map((p) => p.lon * k);
  const minX = Math.min(...xs);
  const maxX = Math.max(...xs);
  // a single point, or points in a line, still get a sensible scale
  const spanX = Math.max(maxX - minX, 1e-3);
  const spanY = Math.max(maxLat - minLat, 1e-3);
  const scale = Math.min((box.width - 2 * box.margin) / spanX, (box.height - 2 * box.margin) / spanY);
  const midX = (minX + maxX) / 2;
  const midLat = (minLat + maxLat) / 2;
  return (p) => ({ x: box.width / 2 + (p.lon * k - midX) * scale, y: box.height / 2 - (p.lat - midLat) * scale });
}
