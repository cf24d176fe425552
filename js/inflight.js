'use strict'
// The submitted queries not finished yet, by id. Ids are handed out consecutively, and queries mostly
// finish in about the order they were sent, so they live in a sliding window (an array from the oldest
// unfinished id): no hashing and no allocation per query, unlike a Map. Entries that hold the window open
// too long (a cursor or a long transaction while many other queries pass) move to a Map, and so does the
// whole window when ids wrap around.

const SPILL_AT = 65536 // window length that makes the oldest entries move to the Map
const KEEP = 32768 // window length left after that

class InFlight {
  constructor() {
    this.list = [] // entries from `head` on are ids first, first + 1, ...; finished ones are undefined
    this.head = 0
    this.first = 0
    this.size = 0
    this.old = new Map()
  }

  // `id` must be the id after the previous one added (or any id when that wrapped around).
  set(id, q) {
    const n = this.list.length - this.head
    if (n === 0) {
      this.list.length = 0
      this.head = 0
      this.first = id
    } else if (id !== this.first + n) {
      this.spill(n)
      this.first = id
    } else if (n >= SPILL_AT) {
      this.spill(n - KEEP)
    }
    this.list.push(q)
    this.size++
  }

  get(id) {
    const i = id - this.first
    if (i >= 0 && i < this.list.length - this.head) return this.list[this.head + i]
    return this.old.size === 0 ? undefined : this.old.get(id)
  }

  has(id) {
    return this.get(id) !== undefined
  }

  delete(id) {
    const i = id - this.first
    if (i >= 0 && i < this.list.length - this.head) {
      const k = this.head + i
      if (this.list[k] === undefined) return false
      this.list[k] = undefined
      this.size--
      if (i === 0) this.advance()
      return true
    }
    if (this.old.size === 0 || !this.old.delete(id)) return false
    this.size--
    return true
  }

  values() {
    const out = [...this.old.values()]
    for (let k = this.head; k < this.list.length; k++) this.list[k] !== undefined && out.push(this.list[k])
    return out
  }

  clear() {
    this.list.length = 0
    this.head = 0
    this.size = 0
    this.old.clear()
  }

  // Past the finished entries at the front; the array is compacted once they are half of it.
  advance() {
    const list = this.list
    let head = this.head
    while (head < list.length && list[head] === undefined) head++
    this.first += head - this.head
    if (head === list.length) {
      list.length = 0
      head = 0
    } else if (head > 1024 && head * 2 > list.length) {
      list.copyWithin(0, head)
      list.length -= head
      head = 0
    }
    this.head = head
  }

  // Moves the `count` oldest slots of the window into the Map.
  spill(count) {
    const list = this.list
    for (let k = this.head; k < this.head + count; k++) list[k] !== undefined && this.old.set(this.first + k - this.head, list[k])
    for (let k = this.head; k < this.head + count; k++) list[k] = undefined
    this.advance()
  }
}

module.exports = { InFlight }
