"""One compute server of an outsourced round's private positions, as a plain MPyC program.

Each server holds only its Shamir shares of every contribution (one ``.npz`` file, made by
:func:`smpc_bench.outsourced.splitting.split_for_servers`), ranks the rows obliviously and
writes its shares of every row's position record; a contributor recombines its own record from
``t + 1`` servers' shares.

Usage, one process per server (3 servers on this machine)::

    python protocols/outsourced_positions.py -M3 -I0 -B 11365 --shares server0.npz \\
        --result-file result0.npy --prime P --kpi margin:-100:100:2:higher
"""

from smpc_bench.outsourced.positions_server import program

if __name__ == "__main__":
    program()
