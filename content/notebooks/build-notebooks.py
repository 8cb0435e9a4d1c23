"""The shipped notebooks, written from this one file: edit the cells here, then run
`/usr/bin/python3 content/notebooks/build-notebooks.py content/notebooks` (needs Debian's python3-nbformat).
tests/notebooks/notebooks.slow.test.ts executes every notebook and checks the physics it prints."""
import nbformat as nbf, sys, os
OUT = sys.argv[1]
def nb(cells, title):
    n = nbf.v4.new_notebook()
    n.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                  "language_info": {"name": "python"}, "openkey": {"title": title}}
    for kind, src in cells:
        n.cells.append(nbf.v4.new_markdown_cell(src.strip()) if kind == "md" else nbf.v4.new_code_cell(src.strip()))
    for i, c in enumerate(n.cells): c["id"] = f"cell-{i}"
    return n

SETUP = '''
import os, sys
# openkey.py is installed on the key; in a clone of the repository it sits in the image's Jupyter overlay.
for folder in ("../../image/overlay/jupyter/usr/lib/python3/dist-packages",):
    if os.path.exists(os.path.join(folder, "openkey.py")):
        sys.path.insert(0, os.path.abspath(folder))
import numpy as np
import matplotlib.pyplot as plt
from iminuit import Minuit
from iminuit.cost import LeastSquares
import openkey as ok

DATASET = os.environ.get("OPENKEY_DATASET", "%s")
print("analysis service:", ok.url())
print("datasets:", ", ".join(d["id"] for d in ok.datasets()))
'''
MLL = "sqrt(2*lep_pt[0]*lep_pt[1]*(cosh(lep_eta[0]-lep_eta[1])-cos(lep_phi[0]-lep_phi[1])))/1000"

z = nb([
 ("md", """
# Measure the Z boson mass

The Z boson decays to an electron pair or a muon pair. From the two leptons' transverse momenta $p_T$, pseudorapidities
$\\eta$ and angles $\\phi$ we compute their invariant mass

$$m_{\\ell\\ell} = \\sqrt{2\\,p_{T,1}\\,p_{T,2}\\,(\\cosh(\\eta_1-\\eta_2) - \\cos(\\phi_1-\\phi_2))}$$

and fit the peak. Every number here comes from the key's analysis service: it reads the ROOT files, this notebook only
asks. Energies in the files are in MeV; we divide by 1000 for GeV.
"""),
 ("code", SETUP % "zll"),
 ("md", """
## Select events and fill the histogram

Exactly two leptons, of the same flavour (`lep_type`: 11 electrons, 13 muons) and opposite charge, each with
$p_T > 25$ GeV.
"""),
 ("code", f'''
cut = "lep_n==2 && lep_charge[0]*lep_charge[1]<0 && lep_type[0]==lep_type[1] && lep_pt[0]>25000 && lep_pt[1]>25000"
mll = "{MLL}"
h = ok.histogram(DATASET, mll, bins=60, range=(66, 116), cut=cut)
print(f"{{h.selected}} of {{h.entries}} events selected")
plt.errorbar(h.centres, h.counts, yerr=h.errors, fmt="o", ms=3, label="events")
plt.xlabel("$m_{{\\\\ell\\\\ell}}$ [GeV]"); plt.ylabel(f"Events / {{h.width:.1f}} GeV"); plt.legend(); plt.show()
'''),
 ("md", """
## Fit the peak

A Breit–Wigner (a Lorentzian of the Z's natural width, 2.50 GeV) describes the resonance; the detector smears it with a
Gaussian. Their convolution is a *Voigt profile*. We fit it plus a flat background by least squares with **iminuit**
(MINUIT, the fitter of particle physics), keeping the natural width fixed and letting the resolution float.
"""),
 ("code", '''
from scipy.special import voigt_profile
Z_WIDTH = 2.4952  # GeV, the natural width (PDG)

def model(x, n, mass, sigma, background):
    return n * voigt_profile(x - mass, sigma, Z_WIDTH / 2) + background

fit_range = (h.centres > 80) & (h.centres < 102)
errors = np.where(h.errors > 0, h.errors, 1.0)
cost = LeastSquares(h.centres[fit_range], h.counts[fit_range], errors[fit_range], model)
m = Minuit(cost, n=h.counts.sum() * h.width, mass=91, sigma=2, background=1)
m.limits["sigma"] = (0.5, 10)
m.migrad(); m.hesse()
mass, mass_error = m.values["mass"], m.errors["mass"]
print(f"fitted Z mass: {mass:.2f} ± {mass_error:.2f} GeV (detector resolution {m.values['sigma']:.2f} GeV)")
print(f"chi2/ndf = {m.fval:.1f}/{m.ndof}")
x = np.linspace(80, 102, 200)
plt.errorbar(h.centres, h.counts, yerr=h.errors, fmt="o", ms=3, label="events")
plt.plot(x, model(x, *m.values), label=f"fit: m = {mass:.2f} GeV")
plt.xlabel("$m_{\\\\ell\\\\ell}$ [GeV]"); plt.legend(); plt.show()
'''),
 ("md", """
## Questions

1. The world average is 91.19 GeV. How many standard deviations is your value from it?
2. Fit electrons only (`lep_type[0]==11`) and muons only: do they agree?
3. The peak looks wider than the Z's natural width of 2.5 GeV: which part of the fit says why?
"""),
], "Measure the Z boson mass")

w = nb([
 ("md", """
# The W boson's transverse mass

A W boson decays to a charged lepton and a neutrino. The neutrino escapes: we only see the momentum imbalance it leaves,
the missing transverse energy $E_T^{miss}$. Without the neutrino's longitudinal momentum we cannot compute the W mass,
but the transverse mass

$$m_T = \\sqrt{2\\,p_T^{\\ell}\\,E_T^{miss}\\,(1-\\cos\\Delta\\phi)}$$

can never exceed it: its distribution ends at a sharp edge (the *Jacobian peak*) near $m_W$.

This notebook reads the columns themselves (`ok.arrays`) and computes $m_T$ with numpy, as one would with uproot.
"""),
 ("code", SETUP % "wlnu"),
 ("code", '''
cut = "lep_n==1 && lep_pt[0]>25000 && met_et>25000 && lep_isTightID[0]"
a = ok.arrays(DATASET, ["lep_pt", "lep_phi", "met_et", "met_phi"], cut=cut)
lep_pt = a["lep_pt"][:, 0] / 1000      # the leading (only) lepton of each event, GeV
lep_phi = a["lep_phi"][:, 0]
met, met_phi = a["met_et"] / 1000, a["met_phi"]
mt = np.sqrt(2 * lep_pt * met * (1 - np.cos(lep_phi - met_phi)))
print(f"{len(mt)} events selected; mean transverse mass {mt.mean():.1f} GeV")
'''),
 ("code", '''
counts, edges = np.histogram(mt, bins=50, range=(40, 140))
centres = (edges[:-1] + edges[1:]) / 2
plt.errorbar(centres, counts, yerr=np.sqrt(counts), fmt="o", ms=3)
plt.xlabel("$m_T$ [GeV]"); plt.ylabel("Events / 2 GeV"); plt.show()
# The edge: where the distribution falls fastest after its maximum.
slope = np.diff(counts.astype(float))
peak = int(np.argmax(counts))
edge = centres[peak + int(np.argmin(slope[peak:]))] + (edges[1] - edges[0]) / 2
print(f"Jacobian edge near {edge:.0f} GeV (the W mass is 80.4 GeV)")
'''),
 ("md", """
## Questions

1. Why is the edge smeared instead of sharp?
2. Compare $W^+$ and $W^-$ (`lep_charge[0]>0`, `<0`): which is produced more often at the LHC, and why?
"""),
], "The W boson's transverse mass")

MYY = "sqrt(2*photon_pt[0]*photon_pt[1]*(cosh(photon_eta[0]-photon_eta[1])-cos(photon_phi[0]-photon_phi[1])))/1000"
hyy = nb([
 ("md", """
# H → γγ: a bump on a falling continuum

Most diphoton events are the *continuum*, a smoothly falling mass spectrum. The Higgs boson adds a narrow bump. We fit
the continuum in the **side bands** (away from the bump), then signal plus background over the whole range, and ask
how unlikely the bump is without a Higgs: the **local significance**.
"""),
 ("code", SETUP % "hyy"),
 ("code", f'''
cut = "photon_n>=2 && photon_isTightID[0] && photon_isTightID[1] && photon_pt[0]>40000 && photon_pt[1]>30000"
myy = "{MYY}"
h = ok.histogram(DATASET, myy, bins=60, range=(100, 160), cut=cut)
x, y, dy = h.centres, h.counts, np.where(h.errors > 0, h.errors, 1.0)
print(f"{{h.selected}} diphoton events")
plt.errorbar(x, y, yerr=h.errors, fmt="o", ms=3); plt.xlabel("$m_{{\\\\gamma\\\\gamma}}$ [GeV]")
plt.ylabel("Events / 1 GeV"); plt.show()
'''),
 ("md", "## 1. The continuum from the side bands (120–130 GeV left out)"),
 ("code", '''
def continuum(x, a, b, c):
    t = (x - 130) / 30
    return a * np.exp(b * t + c * t * t)

side = (x < 120) | (x > 130)
background_fit = Minuit(LeastSquares(x[side], y[side], dy[side], continuum), a=y.mean(), b=-1, c=0)
background_fit.migrad()
print(f"side-band fit: chi2/ndf = {background_fit.fval:.1f}/{background_fit.ndof}")
'''),
 ("md", "## 2. Signal plus background over the whole range"),
 ("code", '''
def signal_plus_background(x, a, b, c, n, mass, sigma):
    return continuum(x, a, b, c) + n * np.exp(-0.5 * ((x - mass) / sigma) ** 2)

a, b, c = background_fit.values
full = Minuit(LeastSquares(x, y, dy, signal_plus_background), a=a, b=b, c=c, n=10, mass=125, sigma=2)
full.limits["mass"] = (110, 150); full.limits["sigma"] = (0.5, 6); full.limits["n"] = (0, None)
full.migrad(); full.hesse()
mass, mass_error = full.values["mass"], full.errors["mass"]
print(f"fitted Higgs mass: {mass:.2f} ± {mass_error:.2f} GeV, width {full.values['sigma']:.2f} GeV")
'''),
 ("md", """
## 3. The local significance

Fit the background alone over the whole range: the difference of the two $\\chi^2$ values, with one more free
signal amplitude, gives (Wilks' theorem) the significance $Z = \\sqrt{\\Delta\\chi^2}$ at the fitted mass.
"""),
 ("code", '''
background_only = Minuit(LeastSquares(x, y, dy, continuum), a=a, b=b, c=c)
background_only.migrad()
delta = max(background_only.fval - full.fval, 0.0)
print(f"local significance: {np.sqrt(delta):.1f} sigma")
grid = np.linspace(100, 160, 300)
plt.errorbar(x, y, yerr=h.errors, fmt="o", ms=3, label="events")
plt.plot(grid, continuum(grid, *background_only.values), "--", label="background only")
plt.plot(grid, signal_plus_background(grid, *full.values), label=f"signal + background, m = {mass:.1f} GeV")
plt.xlabel("$m_{\\\\gamma\\\\gamma}$ [GeV]"); plt.legend(); plt.show()
'''),
 ("md", """
## Questions

1. Tighten the photon $p_T$ cuts. Does the significance go up or down? Why?
2. The teaching sample injects the Higgs at ten times the Standard Model rate (see the teacher's page): how large a
   sample would you need to see it at the real rate with the same significance?
"""),
], "H → γγ: side-band fit and local significance")

h4l = nb([
 ("md", """
# H → ZZ → 4ℓ: the golden channel

Four leptons (two same-flavour, opposite-charge pairs) come from two Z bosons. Their invariant mass shows a ZZ
continuum above 180 GeV and, at 125 GeV, a small, very clean Higgs peak. We add the four-momenta with numpy from the
lepton columns, as the ATLAS notebooks do with uproot.
"""),
 ("code", SETUP % "zz4l"),
 ("code", '''
cut = "lep_n==4 && (lep_charge[0]+lep_charge[1]+lep_charge[2]+lep_charge[3])==0"
a = ok.arrays(DATASET, ["lep_pt", "lep_eta", "lep_phi", "lep_E", "lep_type"], cut=cut)
pt, eta, phi, energy = (a[n].content.reshape(-1, 4) for n in ("lep_pt", "lep_eta", "lep_phi", "lep_E"))
flavours = a["lep_type"].content.reshape(-1, 4)
# Two pairs of the same flavour: the sum of the types is 44, 48 or 52 (eeee, eeμμ, μμμμ).
good = np.isin(flavours.sum(axis=1), (44, 48, 52))
px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
m4l = np.sqrt(np.maximum(energy.sum(1) ** 2 - px.sum(1) ** 2 - py.sum(1) ** 2 - pz.sum(1) ** 2, 0))[good] / 1000
print(f"{len(m4l)} four-lepton events")
'''),
 ("code", '''
counts, edges = np.histogram(m4l, bins=48, range=(80, 250))
centres = (edges[:-1] + edges[1:]) / 2
plt.errorbar(centres, counts, yerr=np.sqrt(counts), fmt="o", ms=3)
plt.xlabel("$m_{4\\\\ell}$ [GeV]"); plt.ylabel(f"Events / {edges[1]-edges[0]:.1f} GeV"); plt.show()
window = (m4l > 115) & (m4l < 135)
print(f"events between 115 and 135 GeV: {window.sum()}; their mean mass {m4l[window].mean():.1f} GeV")
'''),
 ("code", '''
fine, fine_edges = np.histogram(m4l, bins=30, range=(110, 140))
fine_centres = (fine_edges[:-1] + fine_edges[1:]) / 2
def peak(x, n, mass, sigma, background):
    return n * np.exp(-0.5 * ((x - mass) / sigma) ** 2) + background
fit = Minuit(LeastSquares(fine_centres, fine, np.sqrt(np.maximum(fine, 1)), peak), n=fine.max(), mass=125, sigma=2, background=1)
fit.limits["sigma"] = (0.5, 8); fit.limits["background"] = (0, None)
fit.migrad(); fit.hesse()
print(f"fitted Higgs mass: {fit.values['mass']:.2f} ± {fit.errors['mass']:.2f} GeV")
'''),
 ("md", """
## Questions

1. Where is the ZZ threshold, and why does the continuum start there?
2. Why is this channel called "golden" although it has so few events?
"""),
], "H → ZZ → 4ℓ")

hidden = nb([
 ("md", """
# Find the hidden particle

Somewhere in this dilepton sample a new particle decays to two leptons. Nobody has told you its mass. Make the
dilepton mass spectrum, find the bump, and measure its mass and width. Your teacher has the answer.
"""),
 ("code", SETUP % "mystery"),
 ("code", f'''
cut = "lep_n==2 && lep_charge[0]*lep_charge[1]<0 && lep_type[0]==lep_type[1] && lep_pt[0]>25000 && lep_pt[1]>25000"
mll = "{MLL}"
h = ok.histogram(DATASET, mll, bins=120, range=(100, 700), cut=cut)
plt.errorbar(h.centres, h.counts, yerr=h.errors, fmt="o", ms=3); plt.yscale("log")
plt.xlabel("$m_{{\\\\ell\\\\ell}}$ [GeV]"); plt.ylabel(f"Events / {{h.width:.0f}} GeV"); plt.show()
'''),
 ("md", "Where the spectrum stops falling smoothly, look closer: fit a Gaussian over a falling background there."),
 ("code", '''
# Compare each bin with a smooth fall fitted to all bins: the largest excess is a first guess.
x, y = h.centres, h.counts
smooth = np.exp(np.polyval(np.polyfit(x, np.log(np.maximum(y, 0.5)), 3), x))
guess = x[np.argmax((y - smooth) / np.sqrt(np.maximum(smooth, 1)))]
print(f"first guess: {guess:.0f} GeV")
zoom = ok.histogram(DATASET, mll, bins=40, range=(guess - 60, guess + 60), cut=cut)
def model(x, n, mass, sigma, a, b):
    return n * np.exp(-0.5 * ((x - mass) / sigma) ** 2) + a * np.exp(-b * (x - guess) / 100)
fit = Minuit(LeastSquares(zoom.centres, zoom.counts, np.where(zoom.errors > 0, zoom.errors, 1), model),
             n=zoom.counts.max(), mass=guess, sigma=10, a=max(zoom.counts.min(), 1), b=1)
fit.limits["sigma"] = (1, 60); fit.limits["n"] = (0, None)
fit.migrad(); fit.hesse()
print(f"hidden particle: mass {fit.values['mass']:.1f} ± {fit.errors['mass']:.1f} GeV, width {fit.values['sigma']:.1f} GeV")
'''),
 ("md", """
## Questions

1. Is the width you measure the particle's own width, or the detector's resolution? How could you tell?
2. Does it decay to electrons and muons equally often?
"""),
], "Find the hidden particle")

os.makedirs(OUT, exist_ok=True)
for name, notebook in [("z-mass", z), ("w-mass", w), ("higgs-diphoton", hyy), ("higgs-4l", h4l), ("hidden-particle", hidden)]:
    nbf.validate(notebook)
    nbf.write(notebook, os.path.join(OUT, name + ".ipynb"))
    print("wrote", name)
