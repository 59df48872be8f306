/**
 * Types for the parts of @journeyapps/wa-sqlite 2.0.6 the package ships without them: the
 * FacadeVFS base class (JavaScript-friendly j* methods over the raw x* VFS calls).
 */
declare module '@journeyapps/wa-sqlite/src/FacadeVFS.js' {
  /** A view of a pointer argument that survives WebAssembly memory growth. */
  export interface PointerView {
    getInt32(byteOffset: number, littleEndian: boolean): number;
    setInt32(byteOffset: number, value: number, littleEndian: boolean): void;
    setBigInt64(byteOffset: number, value: bigint, littleEndian: boolean): void;
  }

  export class FacadeVFS {
    readonly name: string;
    mxPathname: number;
    constructor(name: string, module: object);
    isReady(): boolean | Promise<boolean>;
    close(): void | Promise<void>;
  }
}
