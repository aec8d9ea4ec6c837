// Page-number pagination for admin tables whose filters are in the URL (shareable views).
export const PAGE_SIZES = [25, 50, 100] as const;
export type PageSize = (typeof PAGE_SIZES)[number];

export interface PageRequest {
  page: number;
  pageSize: PageSize;
}

export interface Page<T> {
  rows: T[];
  total: number;
  page: number;
  pageSize: number;
  pageCount: number;
}

export function toPageRequest(page: unknown, pageSize: unknown): PageRequest {
  const n = Number(page);
  const size = Number(pageSize);
  return {
    page: Number.isInteger(n) && n >= 1 && n <= 1_000_000 ? n : 1,
    pageSize: (PAGE_SIZES as readonly number[]).includes(size) ? (size as PageSize) : 25,
  };
}

export function toPage<T>(rows: T[], total: number, req: PageRequest): Page<T> {
  return { rows, total, page: req.page, pageSize: req.pageSize, pageCount: Math.max(1, Math.ceil(total / req.pageSize)) };
}
