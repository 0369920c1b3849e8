// A Server-Sent Events parser for fetch() bodies: /v1/query is a POST, so
// EventSource cannot be used. Feed it text chunks; it returns the complete
// events ({event, data}) seen so far and keeps partial lines for later.
export class SSEParser {
  constructor() {
    this.buf = '';
    this.event = '';
    this.data = [];
  }

  push(chunk) {
    this.buf += chunk;
    const events = [];
    let nl;
    while ((nl = this.buf.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buf.slice(0, nl);
      const sep = this.buf[nl] === '\r' && this.buf[nl + 1] === '\n' ? 2 : 1;
      // A lone \r at the end of a chunk may be half of \r\n: wait for more.
      if (this.buf[nl] === '\r' && nl + 1 === this.buf.length) break;
      this.buf = this.buf.slice(nl + sep);
      if (line === '') {
        if (this.data.length) events.push({ event: this.event || 'message', data: this.data.join('\n') });
        this.event = '';
        this.data = [];
        continue;
      }
      if (line.startsWith(':')) continue; // comment / keep-alive
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') this.event = value;
      else if (field === 'data') this.data.push(value);
    }
    return events;
  }
}
