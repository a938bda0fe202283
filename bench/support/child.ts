import type { ChildProcess } from 'node:child_process';

/** The child's next IPC message of this type; rejects if the child exits first. */
export function nextMessage<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (message: { type?: string }) => {
      if (message.type !== type) return;
      cleanup();
      resolve(message as T);
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`child process exited (${code}) before sending "${type}"`));
    };
    const cleanup = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** Sends `{ type }` (plus fields) to the child and waits for its answer of the same type. */
export function ask<T>(child: ChildProcess, type: string, fields: Record<string, unknown> = {}): Promise<T> {
  const answer = nextMessage<T>(child, type);
  child.send({ type, ...fields });
  return answer;
}
