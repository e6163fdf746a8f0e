import numpy as np
from scipy import sparse

from atlas.disclosure import attack


def test_propagation_keeps_unbounded_cells_unbounded():
    # x0 + x1 = x2 with x2 = 10, x0 free both ways, x1 >= 0: x0 <= 10 and x1 >= 0 only
    a = sparse.csr_matrix(np.array([[1.0, 1.0]]))
    lo, hi = attack._propagate(
        a,
        (np.array([10.0]), np.array([10.0])),
        np.array([-np.inf, 0.0]),
        np.array([np.inf, np.inf]),
    )
    assert lo[0] == -np.inf and hi[0] == 10.0
    assert lo[1] == 0.0 and hi[1] == np.inf


def test_whole_values_of_unbounded_intervals():
    lo, hi = attack.whole(np.array([np.nan, 0.2, -np.inf]), np.array([np.nan, 2.9, np.inf]))
    assert list(lo) == [-np.inf, 1.0, -np.inf] and list(hi) == [np.inf, 2.0, np.inf]
