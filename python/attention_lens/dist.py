"""torchrun / DDP: who records, and the collective step boundary.

Under torchrun (RANK and WORLD_SIZE in the environment) rank 0 records the run (its folder,
or the extension's channel) and decides at every step boundary; the other ranks record
nothing. The decision is one broadcast from rank 0 of a small integer tensor per step:

    GO      every rank trains the next step;
    STOP    every rank ends the run at this step (step() raises Stopped on every rank);
    PAUSED  every rank waits at this step; rank 0 broadcasts PAUSED again at least every
            HEARTBEAT seconds while paused, so no rank ever waits in one collective longer
            than that (a pause of an hour times out no collective), then GO or STOP.

So a pause, a single step and a stop take effect on every rank at the same step. The
broadcast uses the default process group (the user's init_process_group): a CPU tensor for
gloo, a CUDA tensor for NCCL.
"""

import os

GO, STOP, PAUSED = 0, 1, 2
HEARTBEAT = 1.0


def env_rank():
    """(rank, world size) from torch.distributed when initialised, else from torchrun's environment."""
    try:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            return dist.get_rank(), dist.get_world_size()
    except ImportError:  # pragma: no cover
        pass
    try:
        return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 0, 1


class Collective:
    """The per-step broadcast of rank 0's decision (a no-op in a single process)."""

    def __init__(self):
        self._t = None
        self.world = 1
        self.rank = 0

    def ready(self):
        """Whether there is a process group of more than one rank to broadcast in."""
        import torch
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()):
            return False
        self.world = dist.get_world_size()
        self.rank = dist.get_rank()
        if self.world <= 1:
            return False
        if self._t is None:
            backend = str(dist.get_backend())
            device = torch.device("cuda", torch.cuda.current_device()) if backend == "nccl" else torch.device("cpu")
            self._t = torch.zeros(1, dtype=torch.int32, device=device)
        return True

    def decide(self, code):
        """Rank 0's `code` on every rank (rank 0 passes its decision; the others pass None)."""
        if not self.ready():
            return code
        import torch.distributed as dist

        if self.rank == 0:
            self._t.fill_(code)
        dist.broadcast(self._t, src=0)
        return int(self._t.item())
