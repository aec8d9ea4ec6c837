// The head of an admin detail page: the way back to its list, the title with the thing's status
// (when it has one), and an optional line of facts about it.
import Link from "next/link";
import type { ReactNode } from "react";
import { Badge } from "./table";

export function DetailHeader({ back, title, status, children }: { back: { href: string; label: string }; title: ReactNode; status?: string; children?: ReactNode }) {
  return (
    <>
      <p className="text-sm">
        <Link href={back.href} className="hover:underline">
          ← {back.label}
        </Link>
      </p>
      <h1 className="flex flex-wrap items-center gap-3 text-2xl font-semibold tracking-tight [overflow-wrap:anywhere]">
        {title}
        {status ? (
          <>
            {" "}
            <Badge value={status} />
          </>
        ) : null}
      </h1>
      {children ? <p className="text-sm text-slate-600">{children}</p> : null}
    </>
  );
}
