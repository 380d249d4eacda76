/** One status line, rewritten in place on a terminal and printed every few seconds otherwise. */
export class Progress {
  private lastPrinted = 0;
  private readonly tty = process.stderr.isTTY;

  update(line: string): void {
    if (this.tty) {
      process.stderr.write(`\r\x1b[K${line}`);
    } else if (Date.now() - this.lastPrinted > 5000) {
      process.stderr.write(line + '\n');
      this.lastPrinted = Date.now();
    }
  }

  done(line: string): void {
    process.stderr.write(this.tty ? `\r\x1b[K${line}\n` : line + '\n');
    this.lastPrinted = 0;
  }
}
