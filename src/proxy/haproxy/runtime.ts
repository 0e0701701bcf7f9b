import { createConnection } from 'node:net';
import { RingError } from '../../errors.js';

/** Largest answer read from the stats socket; a longer one is cut and reported. */
const MAX_ANSWER = 1 << 20;

/**
 * Sends one command to HAProxy's stats socket (a unix socket path, or
 * `host:port` for a TCP one) and returns the answer. The socket must be
 * declared `level admin` for server changes; protect it with file
 * permissions (`mode 600`), as anyone who can write to it controls HAProxy.
 */
export function haproxyCommand(socket: string, command: string, timeoutMs = 5000): Promise<string> {
  if (/[\r\n;]/.test(command)) return Promise.reject(new RingError('INVALID_OPTION', `a HAProxy command must be one line without ';', got ${JSON.stringify(command)}`));
  return new Promise((resolve, reject) => {
    const tcp = /^(.+):(\d+)$/.exec(socket);
    const conn = tcp && !socket.startsWith('/') ? createConnection({ host: tcp[1]!, port: Number(tcp[2]) }) : createConnection(socket);
    let answer = '';
    const timer = setTimeout(() => conn.destroy(new Error(`no answer from the HAProxy stats socket ${socket} within ${timeoutMs} ms to ${JSON.stringify(command)}`)), timeoutMs);
    conn.setEncoding('utf8');
    conn.on('data', (chunk: string) => {
      answer += chunk;
      if (answer.length > MAX_ANSWER) conn.destroy(new Error(`the HAProxy answer to ${JSON.stringify(command)} exceeded ${MAX_ANSWER} bytes`));
    });
    conn.on('error', (error) => {
      clearTimeout(timer);
      reject(new RingError('INVALID_OPTION', `HAProxy stats socket ${socket}: ${error.message}`, { cause: error }));
    });
    conn.on('close', (hadError) => {
      clearTimeout(timer);
      if (!hadError) resolve(answer.trim());
    });
    conn.end(`${command}\n`);
  });
}

/** Longest line read from the stats socket by {@link haproxyEachLine}; a longer one is cut and reported. */
const MAX_LINE = 64 * 1024;

/**
 * Sends one command to HAProxy's stats socket and calls `onLine` for each
 * line of the answer as it arrives, holding one line at a time: for answers
 * that grow with the traffic (`show sess` prints one line per stream).
 * Resolves when HAProxy closes the connection.
 */
export function haproxyEachLine(socket: string, command: string, onLine: (line: string) => void, timeoutMs = 5000): Promise<void> {
  if (/[\r\n;]/.test(command)) return Promise.reject(new RingError('INVALID_OPTION', `a HAProxy command must be one line without ';', got ${JSON.stringify(command)}`));
  return new Promise((resolve, reject) => {
    const tcp = /^(.+):(\d+)$/.exec(socket);
    const conn = tcp && !socket.startsWith('/') ? createConnection({ host: tcp[1]!, port: Number(tcp[2]) }) : createConnection(socket);
    let rest = '';
    const timer = setTimeout(() => conn.destroy(new Error(`no full answer from the HAProxy stats socket ${socket} within ${timeoutMs} ms to ${JSON.stringify(command)}`)), timeoutMs);
    conn.setEncoding('utf8');
    conn.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop()!;
      for (const line of lines) onLine(line);
      if (rest.length > MAX_LINE) conn.destroy(new Error(`a line of HAProxy's answer to ${JSON.stringify(command)} exceeded ${MAX_LINE} bytes`));
    });
    conn.on('error', (error) => {
      clearTimeout(timer);
      reject(new RingError('INVALID_OPTION', `HAProxy stats socket ${socket}: ${error.message}`, { cause: error }));
    });
    conn.on('close', (hadError) => {
      clearTimeout(timer);
      if (hadError) return;
      if (rest !== '') onLine(rest);
      resolve();
    });
    conn.end(`${command}\n`);
  });
}
