"""The only place (with :mod:`smpc_bench.costs`) that drives MPyC or touches its internals.

Modules: :mod:`~smpc_bench.engine.driver` (the runtime, phases with timeouts, the watchdog),
:mod:`~smpc_bench.engine.local_shares` (a party's own share values for the hot paths),
:mod:`~smpc_bench.engine.prss` and :mod:`~smpc_bench.engine.subset_keys` (randomness keys
handed out after the parties agree), :mod:`~smpc_bench.engine.patches` (every replacement of
an MPyC attribute), :mod:`~smpc_bench.engine.local_parties` (m party processes on one machine)
and :mod:`~smpc_bench.engine.accel` (exactly equivalent speed-ups, named after what they
replace).

Inventory of the MPyC 0.11 internals used (re-check each before allowing a newer MPyC; the
``pyproject.toml`` pin points here).  Private attributes and methods:

* ``Runtime._reshare`` (local_shares.reshare): reshare degree-2t products in one exchange.
* ``Runtime._np_randoms`` (local_shares.random_ints): the vectorised random draw that MPyC's
  own comparisons use for their masks.
* ``Runtime._prss_keys``, ``Runtime.prfs`` (an ``lru_cache``), ``Runtime.options.no_prss``
  (prss): keys held back during the handshake and handed out after the agreement.
* ``Runtime._loop``, ``Runtime._pc_level``, ``Runtime._program_counter``,
  ``Runtime.options.no_async`` (costs.tracking, costs.lockstep): counting rounds.
* ``MessageExchanger.send``, ``.data_received``, ``.buffers``, ``.bytes``, ``.transport``,
  ``.peer_pid``, ``.nbytes_sent`` (costs, driver.bytes_sent): traffic and the lock-step.
* ``mpyc.thresha._recombination_vector`` (accel.sharing): Lagrange coefficients.

Public functions and methods replaced (each by one :class:`~smpc_bench.engine.patches.Patch`,
all undone by :func:`smpc_bench.engine.patches.uninstall_all`):

* ``mpyc.thresha.np_random_split`` and ``np_recombine`` (accel.sharing);
* ``PrimeFieldArray.__matmul__``/``__rmatmul__`` (accel.matmul);
* ``FiniteFieldArray.__init__`` (accel.field_arrays); ``thresha.PRF.__call__`` (accel.prf);
* during a cost measurement, ``Runtime.output``, ``_reshare``, ``_distribute``, ``transfer``,
  ``np_sgn``, ``sgn``, ``np_to_bits``, ``to_bits``, ``barrier``, ``start``, ``shutdown`` and
  ``MessageExchanger.send`` (costs.tracking); during an opening log, ``output`` of the
  running runtime (costs.openings); while the lock-step is installed,
  ``MessageExchanger.data_received`` (costs.lockstep).

Behaviour relied on: ``Runtime.output`` accepts field arrays and word rows
(``uint64``) of shares; ``np_random_bits`` takes a field; ``returnType``/``mpc_coro``
semantics for coroutines that compute on share values.
"""
