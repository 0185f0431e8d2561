import { maxHeaderSize, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";

/**
 * Answers a request the HTTP parser refused, then drops its connection. A
 * client that sent headers over Node's limit (16 KiB unless node was started
 * with `--max-http-header-size`: a long token in a header or the query) is
 * told 431, one too slow to send its request 408, any other malformed
 * request 400: each with a line saying what was wrong, rather than a bare
 * reset that tells it nothing. Nothing is written to a connection that has
 * already had an answer, or that the peer reset.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex & { bytesWritten?: number }): void {
  if (socket.writable && (socket.bytesWritten ?? 0) === 0 && error.code !== "ECONNRESET") {
    const [status, why] = clientErrorStatus(error.code);
    const body = `${why}\n`;
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

function clientErrorStatus(code: string | undefined): [number, string] {
  switch (code) {
    case "HPE_HEADER_OVERFLOW":
      return [
        431,
        `the request's headers (the URL included) are larger than the ${maxHeaderSize} bytes this server reads`,
      ];
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return [408, "the request was not received in time"];
    default:
      return [400, `the request is not valid HTTP/1.1 (${code ?? "parse error"})`];
  }
}
