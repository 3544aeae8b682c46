export declare const PYTHON_ENV_VAR: string;
export interface FoundPython {
  path: string;
  twistedVersion: string;
  pythonVersion: string;
}
export declare function probePython(candidate: string): FoundPython | null;
export declare function pythonCandidates(env?: NodeJS.ProcessEnv): string[];
export declare function findPython(env?: NodeJS.ProcessEnv): FoundPython | null;
export declare function missingPythonMessage(env?: NodeJS.ProcessEnv): string;
export declare function requirePython(env?: NodeJS.ProcessEnv): FoundPython;
