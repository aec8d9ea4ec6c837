// Types of scripts/lib-modules.mjs (imported by next.config.ts).
export declare function libSources(root: string): string[];
export declare function resolveLibImport(root: string, fromFile: string, specifier: string): string | null;
export declare function nextOnlyLibModules(root: string): Set<string>;
export declare const LIB_PACKAGE: string;
export declare function externalRequest(root: string, file: string): string;
