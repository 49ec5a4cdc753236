// Globals the candidate page adds.
interface Window {
  /** Counters the candidate page keeps for troubleshooting (and the browser tests). */
  vivaStats: {
    micChunks: number; packetsSent: number; packetsReceived: number;
    reconnects: number; underruns: number; audioState: string;
  };
}
