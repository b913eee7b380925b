// Shared pieces of the comms pages (functions/comms): the consult's
// LiveKit connection and the labels the pages show.
import { Room, RoomEvent, Track, createLocalAudioTrack, type LocalAudioTrack } from 'livekit-client'
import { post } from './api'

export const API = '/comms/v1'

export interface Member { user_id: string; name: string; role: string; removed_at: string | null }
export interface TrackState { sid: string; kind: string; muted: boolean }
export interface Participant { identity: string; name: string; can_publish: boolean; tracks: TrackState[] }
export interface Consult {
  id: string; event_id: string; title: string; room: string; status: string; host_id: string; created_at: string
  members?: Member[]; participants?: Participant[]; live_error?: string; recording?: boolean
}
export interface Message {
  id: number; consult_id: string | null; event_id: string; sender_id: string; sender_name: string; kind: string; body: string
  has_attachment: boolean; content_type?: string; lat?: number; lng?: number; created_at: string
}
export interface Recording {
  id: string; kind: string; participant: string; status: string; content_type: string; size: number
  duration_ms: number; started_at: string; ended_at: string | null; error?: string
}

export const roleNames: Record<string, string> = { host: '主持人', member: '参会', observer: '旁听' }
export const kindNames: Record<string, string> = { text: '文字', voice: '语音', image: '图片', location: '位置' }
export const channelNames: Record<string, string> = { call: '呼叫', sms: '短信', fax: '传真' }
export const stateNames: Record<string, string> = { sent: '已受理', delivered: '已送达', failed: '失败', fallback: '已改发短信' }

export function fmtDuration(ms: number): string {
  const s = Math.round(ms / 1000)
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`
}

export function fmtSize(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} KB`
}

/** A member's live connection to the consult's room: join with the token
 *  comms mints, publish the microphone, and report whether the host has
 *  muted it (the room service mutes the published track). */
export class Live {
  room: Room | null = null
  mic: LocalAudioTrack | null = null
  onChange: (muted: boolean, connected: boolean) => void

  constructor(onChange: (muted: boolean, connected: boolean) => void) { this.onChange = onChange }

  async join(consultID: string, publish: boolean) {
    const tok = await post<{ url: string; token: string }>(`${API}/consults/${consultID}/token`)
    const room = new Room({ adaptiveStream: true, dynacast: true })
    room.on(RoomEvent.Disconnected, () => this.onChange(true, false))
    room.on(RoomEvent.TrackMuted, (pub, p) => { if (p === room.localParticipant && pub.kind === Track.Kind.Audio) this.onChange(true, true) })
    room.on(RoomEvent.TrackUnmuted, (pub, p) => { if (p === room.localParticipant && pub.kind === Track.Kind.Audio) this.onChange(false, true) })
    room.on(RoomEvent.TrackSubscribed, (track) => {
      if (track.kind === Track.Kind.Audio) document.body.appendChild(track.attach())
    })
    await room.connect(tok.url, tok.token)
    this.room = room
    if (publish) {
      this.mic = await createLocalAudioTrack({ echoCancellation: true, noiseSuppression: true })
      await room.localParticipant.publishTrack(this.mic, { source: Track.Source.Microphone })
    }
    this.onChange(false, true)
  }

  async leave() {
    this.mic?.stop()
    await this.room?.disconnect()
    this.room = null
    this.mic = null
  }
}
