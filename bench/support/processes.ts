// Child processes of a benchmark: forked with extra environment, stopped politely (then killed).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class Children {
  private readonly all: ChildProcess[] = [];

  /** Forks `file` (a URL, e.g. `new URL('./x.js', import.meta.url)`) with `env` added to this process's. */
  fork(file: URL, env: Record<string, string>, execArgv: string[] = []): ChildProcess {
    const child = fork(fileURLToPath(file), { env: { ...process.env, ...env }, execArgv });
    this.all.push(child);
    return child;
  }

  /** Sends each running child `stop` and waits for it to exit; kills one that takes over 15 s. */
  async stop(): Promise<void> {
    await Promise.all(
      this.all.map(async (each) => {
        if (each.exitCode !== null || each.signalCode !== null) return;
        const exited = new Promise((resolve) => each.once('exit', resolve));
        each.send({ type: 'stop' });
        if ((await Promise.race([exited, sleep(15_000).then(() => 'timeout')])) === 'timeout') each.kill();
      }),
    );
  }
}
