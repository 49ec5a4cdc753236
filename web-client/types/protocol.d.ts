// Protocol v1 as the browser sees it (docs/protocol.md; src/protocol.rs is the source of truth).
declare namespace Viva {
  type State = "speaking" | "listening" | "waiting" | "thinking" | "ended";
  type Speaker = "interviewer" | "candidate";
  type TurnKind = "question" | "prompt" | "notice" | "answer";

  interface TranscriptEntry { turn: number; speaker: Speaker; text: string; interrupted: boolean }
  interface Snapshot {
    interview_id: string; state: State; last_seq: number;
    questions: string[]; transcript: TranscriptEntry[];
  }

  type Connection =
    | { type: "ready"; interview_id: string; resumed: boolean; state: State; last_seq: number; resume_secret?: string }
    | { type: "resync"; snapshot: Snapshot };

  type Event =
    | { type: "state"; state: State }
    | { type: "agent_text"; turn: number; kind: TurnKind; text: string; final: boolean; closing?: boolean }
    | { type: "audio_start"; turn: number }
    | { type: "audio_end"; turn: number }
    | { type: "audio_interrupted"; turn: number; played_ms: number }
    | { type: "transcript"; turn: number; text: string; final: boolean }
    | { type: "turn_metrics"; turn: number; timings: Record<string, number> }
    | { type: "error"; code: string; message: string; fatal: boolean }
    | { type: "ended"; reason: string };

  type ServerMessage = Connection | (Event & { seq: number; ts: string });
}
