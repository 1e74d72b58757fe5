"""The best routing of on-queue agents to queues, interval by interval.

A multi-skill agent's on-queue interval can go to any queue it may take. Given who is on-queue at
an interval, the best routing is a small transportation problem: *pools* (agents that may take the
same set of queues) send agents to queues, and a queue gains from at most its need. With under
weight u_q and over weight o, the penalty is

    sum_q u_q need_q + o * on_queue - sum_q (u_q + o) covered_q

so the best routing maximises covered need weighted by (u_q + o). The covered vectors form a
polymatroid (a gammoid), so that maximum is the greedy over queues by weight:
sum_k (w_(k) - w_(k+1)) rank(top k queues), where rank(Y), the most need of the queues Y that the
pools can cover, is a max flow and so a min cut:

    rank(Y) = min over X within Y of  need(X) + agents of the pools that reach Y outside X.

With one under weight for every queue of an interval (the usual case) only rank(all queues) is
needed. Everything is in numpy over spans of intervals, so the local search can score a move with
the routing of every agent re-optimised, not only the moved agent's: one agent taking a queue over
lets a two-skill agent move to the queue that needs it, and so on down the chain.

`Routing.flows` gives one best routing explicitly (augmenting paths, queues in weight order), so the
roster written out scores what the search computed.
"""

from __future__ import annotations

from collections import deque
import numpy as np

# Queue-specific under weights need every (Y, X within Y) pair: 3^queues of them.
GENERAL_QUEUE_LIMIT = 6
UNIFORM_QUEUE_LIMIT = 12


def supports(n_queues: int, under_w: np.ndarray) -> bool:
    """Whether the routing can be scored exactly here (its cut enumeration stays small)."""
    return n_queues <= (UNIFORM_QUEUE_LIMIT if _uniform(under_w) else GENERAL_QUEUE_LIMIT)


def _uniform(under_w: np.ndarray) -> bool:
    return bool((under_w == under_w[:1]).all())


class Routing:
    def __init__(self, pools: list[tuple[int, ...]], need: np.ndarray, under_w: np.ndarray, over_w: float):
        """`pools`: the queue indices of each pool; `need`, `under_w`: (queues, intervals)."""
        self.pools = pools
        self.need, self.under_w, self.over_w = need, under_w, float(over_w)
        n_queues, n = need.shape
        self.uniform = _uniform(under_w)
        full = (1 << n_queues) - 1
        subsets = [full] if self.uniform else list(range(1, full + 1))
        self.rank_of = {y: k for k, y in enumerate(subsets)}
        combos = [(y, x) for y in subsets for x in range(full + 1) if x & ~y == 0]
        masks = [sum(1 << q for q in p) for p in pools]
        self.x_queues = np.array([[(x >> q) & 1 for q in range(n_queues)] for _, x in combos], float)
        # a pool counts in the cut when it reaches Y somewhere outside X
        self.x_pools = np.array([[float((m & y) & ~x != 0) for m in masks] for y, x in combos])
        self.starts = np.array([k for k, (y, _) in enumerate(combos) if k == 0 or combos[k - 1][0] != y])
        self.cut_need = self.x_queues @ need                    # (combos, intervals)
        self.weight = under_w + self.over_w                     # (queues, intervals)
        self.constant = (under_w * need).sum(axis=0)            # sum_q u_q need_q
        if not self.uniform:
            # per interval: the chain of top-k queue sets and the weight steps between them
            order = np.argsort(-self.weight, axis=0, kind="stable")        # (queues, intervals)
            w_sorted = np.take_along_axis(self.weight, order, axis=0)
            self.steps = w_sorted - np.vstack([w_sorted[1:], np.zeros((1, n))])
            chain = np.cumsum(1 << order, axis=0)                          # bitmask of the top k
            self.chain = np.vectorize(self.rank_of.get)(chain)            # (queues, intervals)

    # -- scoring ------------------------------------------------------------------------------------
    def _cuts(self, counts: np.ndarray, lo: int, hi: int) -> np.ndarray:
        return self.cut_need[:, lo:hi] + self.x_pools @ counts

    def _weighted(self, cuts: np.ndarray, lo: int, hi: int) -> np.ndarray:
        ranks = np.minimum.reduceat(cuts, self.starts, axis=0)              # (subsets, span)
        if self.uniform:  # one weight for every queue; no queue at all (shift demand only): nothing covered
            return (self.weight[0, lo:hi] if len(self.weight) else 0.0) * ranks[0]
        cols = np.arange(hi - lo)
        return (self.steps[:, lo:hi] * ranks[self.chain[:, lo:hi], cols]).sum(axis=0)

    def penalty(self, counts: np.ndarray, lo: int = 0, hi: int | None = None) -> np.ndarray:
        """Per interval of [lo, hi): the coverage penalty under the best routing of `counts`
        (pools x span, agents on-queue)."""
        hi = self.need.shape[1] if hi is None else hi
        covered = self._weighted(self._cuts(counts, lo, hi), lo, hi)
        return self.constant[lo:hi] + self.over_w * counts.sum(axis=0) - covered

    def gains(self, counts: np.ndarray, lo: int, hi: int, pools: set[int]) -> dict[int, np.ndarray]:
        """Per pool in `pools`, per interval of [lo, hi): the penalty one more agent of that pool
        on-queue removes, against `counts` (pools x span)."""
        cuts = self._cuts(counts, lo, hi)
        base = self._weighted(cuts, lo, hi)
        return {p: self._weighted(cuts + self.x_pools[:, p:p + 1], lo, hi) - base - self.over_w for p in pools}

    def surplus(self, counts: np.ndarray) -> np.ndarray:
        """Per interval: on-queue agents no routing can put on unmet need (over-coverage)."""
        ranks = np.minimum.reduceat(self._cuts(counts, 0, self.need.shape[1]), self.starts, axis=0)
        return counts.sum(axis=0) - ranks[self.rank_of[(1 << self.need.shape[0]) - 1]]

    # -- one best routing -------------------------------------------------------------------------
    def flows(self, counts: np.ndarray, i: int) -> np.ndarray:
        """A best routing at interval i: agents of each pool per queue (pools x queues). Queues are
        filled in weight order by augmenting paths, which never take need already covered back;
        agents left over go to their pool's first queue (over-coverage)."""
        n_queues = self.need.shape[0]
        supply = counts[:, i].astype(int).copy()
        room = np.ceil(self.need[:, i] - 1e-9).astype(int)
        flow = np.zeros((len(self.pools), n_queues), int)
        for target in np.argsort(-self.weight[:, i], kind="stable"):
            while room[target] > 0 and supply.any():
                path = self._augmenting(flow, supply, target)
                if path is None:
                    break
                amount = min(room[target], supply[path[0][0]],
                             *(flow[p, q] for p, q, forward in path if not forward))
                for p, q, forward in path:
                    flow[p, q] += amount if forward else -amount
                supply[path[0][0]] -= amount
                room[target] -= amount
        for p, left in enumerate(supply):
            if left > 0:
                flow[p, self.pools[p][0]] += left
        return flow

    def _augmenting(self, flow: np.ndarray, supply: np.ndarray, target: int):
        """A path from a pool with agents to spare to queue `target`: a list of (pool, queue,
        forward) edges, pool-to-queue forward and queue-to-pool backward (an agent rerouted)."""
        parent: dict[int, tuple[int, int] | None] = {}   # queue -> (pool, queue it came from or -1)
        seen_pools = set()
        frontier = deque()
        for p in np.flatnonzero(supply > 0):
            seen_pools.add(int(p))
            for q in self.pools[p]:
                if q not in parent:
                    parent[q] = (int(p), -1)
                    frontier.append(q)
        while frontier:
            q = frontier.popleft()
            if q == target:
                break
            for p in np.flatnonzero(flow[:, q] > 0):
                if p in seen_pools:
                    continue
                seen_pools.add(int(p))
                for q2 in self.pools[p]:
                    if q2 not in parent:
                        parent[q2] = (int(p), q)
                        frontier.append(q2)
        if target not in parent:
            return None
        path, q = [], target
        while True:
            p, came = parent[q]
            path.append((p, q, True))
            if came == -1:
                break
            path.append((p, came, False))
            q = came
        return path[::-1]

