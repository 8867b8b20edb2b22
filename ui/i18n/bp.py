"""Strings of the backprop-by-hand page (pages/backprop.py), plus its navigation title and home blurb."""

EN = {
    "nav.backprop": "Backpropagation by hand",
    "home.backprop": "The homework's two-layer regression: derive the four gradients, check them against "
    "autograd and finite differences, train, try mini-batches, save the model safely.",
    "bp.intro": "Seed 002's homework: fit y = x² + 0.2·rand with Net(1, 10, 1) (sigmoid hidden layer) and "
    "give the derivatives of W1, b1, W2, b2 for f = ‖Y − Y_pred‖²_F. Here every formula is computed by "
    "hand-written code and checked against PyTorch.",
    "bp.section": "Section",
    "bp.section.net": "1 · Data & net",
    "bp.section.grads": "2 · Gradients",
    "bp.section.train": "3 · Training",
    "bp.section.batch": "4 · Mini-batches",
    "bp.section.save": "5 · Saving",
    "bp.hidden": "Hidden units",
    "bp.hidden.help": "n_hidden of Net(1, n_hidden, 1); the seed uses 10. A new width starts from a fresh "
    "net initialised as in the seed.",
    "bp.net.pred": "prediction",
    "bp.net.which": "Net(1, {h}, 1) on the seed's 100 points (change the width in section 1).",
    "bp.net.loss": "f = ‖Y − Y_pred‖²",
    "bp.net.params": "Parameters",
    "bp.net.note": "The seed's exact data: 100 points, torch.manual_seed(1). The net has 1·{h} + {h} "
    "weights in the hidden layer and {h}·1 + 1 in the output layer; the line is its prediction for the "
    "current weights (train them in section 3).",
    "bp.reduction": "Loss",
    "bp.reduction.sum": "sum of squares (the homework's f)",
    "bp.reduction.mean": "mean of squares (nn.MSELoss)",
    "bp.grads.maxdiff": "max |hand − autograd|",
    "bp.grads.maxdiff.help": "Over every element of the four gradients, in float64. Rounding alone explains "
    "anything below about 1e-12.",
    "bp.grads.ratio": "‖∇f_sum‖ / ‖∇f_mean‖",
    "bp.grads.ratio.help": "A mean divides f, and so every gradient, by N (here 100).",
    "bp.grads.f": "f now",
    "bp.grads.sum_note": "With the sum, G = 2(Y_pred − Y): each of the {n} points adds its own term, so the "
    "gradients grow with N and the learning rate must shrink with it (0.002 here is the slides' 0.2 for a "
    "mean, divided by {n}).",
    "bp.grads.mean_note": "With the mean, G = 2(Y_pred − Y)/{n}: every gradient is the sum's divided by {n}, "
    "and the same steps need a learning rate {n} times larger.",
    "bp.fd.title": "Finite-difference check of one element",
    "bp.fd.param": "Parameter",
    "bp.fd.index": "Element (0 … {n} − 1, flattened)",
    "bp.fd.hand": "hand-written ∂f/∂θ",
    "bp.fd.numeric": "(f(θ+ε) − f(θ−ε)) / 2ε",
    "bp.fd.diff": "|difference|",
    "bp.fd.note": "The central difference has an error of order ε² from the Taylor series plus rounding of "
    "order 1e-16/ε: a very large or a very small ε makes it worse, ε ≈ 1e-6 is about best.",
    "bp.lr": "Learning rate η",
    "bp.lr.help": "θ ← θ − η ∂f/∂θ on the sum of squares over the 100 points.",
    "bp.steps": "Steps per run",
    "bp.train.go": "Train",
    "bp.train.one": "One step",
    "bp.train.reset": "Reset weights",
    "bp.train.hand": "hand-written gradients",
    "bp.train.sgd": "torch.optim.SGD + autograd",
    "bp.train.step": "step",
    "bp.train.stable": "η limit 2/λ_max",
    "bp.train.stable.help": "λ_max is the largest eigenvalue of the Hessian of f at the seed's starting "
    "weights. Near a minimum, gradient descent shrinks the error along each direction by |1 − η λ|; above "
    "2/λ_max that factor exceeds 1 and the first steps overshoot.",
    "bp.train.maxdiff": "max |θ_hand − θ_SGD|",
    "bp.train.steps_done": "Steps done",
    "bp.train.empty": "No steps yet: press Train or One step. Both ways run from the same weights: plain "
    "gradient descent with the hand-written gradients, and torch.optim.SGD with autograd.",
    "bp.train.took": "This section (the step and both charts) took {ms} ms on the server.",
    "bp.train.running": "Training: step {step}, f = {loss_hand:.4f}",
    "bp.train.done": "Done: {steps} steps in {s} s, f = {f}; the hand-written and torch.optim.SGD weights "
    "never differed by more than {diff}.",
    "bp.train.diverged": "η = {lr} diverges: the loss blew up at step {step}, so training stopped there "
    "(the weights shown are the last finite ones, no NaN is drawn). Why: f is a quadratic in b2 with "
    "second derivative 2N = 2·{n}, so any η above 2/(2N) = {bound} makes b2 overshoot further at every "
    "step; and already above {stable} (2/λ_max at the start) the first steps overshoot. Pick a smaller η "
    "and press Reset weights.",
    "bp.batch.size": "Batch size |B|",
    "bp.batch.epochs": "Epochs",
    "bp.batch.lr": "η (mean loss, as on the slide)",
    "bp.batch.ms": "ms per epoch",
    "bp.batch.final": "loss after (all 100 points)",
    "bp.batch.diverged": "B = {b} with η = {lr} diverges: the loss blew up, so the run stopped there (nothing "
    "infinite is drawn). Small batches give noisy gradients; with a large η one unlucky batch throws the "
    "weights far away. Pick a smaller η.",
    "bp.batch.epoch": "epoch",
    "bp.batch.loss": "batch loss",
    "bp.batch.note": "A small batch makes N/|B| noisy steps per epoch: its loss curve jitters, but it goes "
    "down far more per epoch. The full batch (B = 100) makes one exact step per epoch: a smooth but slow "
    "curve. Times are measured on this machine.",
    "bp.big.title": "The slides' 10,000,000 points",
    "bp.big.explain": "Time one epoch of the same net on torch.linspace(-1, 1, 10000000) for batch sizes from "
    "100 to the full batch, in a separate process on one CPU thread (so its memory is measured alone), at most 2 s per batch "
    "size: a longer epoch is extrapolated from the batches measured. Each batch size starts from the seed's "
    "net; the last column is the loss after the batches measured.",
    "bp.big.go": "Measure on 10,000,000 points",
    "bp.big.running": "Measuring: {done} of 5 stages done",
    "bp.big.done": "Measured on this machine.",
    "bp.big.data": "Data x and y: {mb:.0f} MiB (float32), made in {s:.1f} s.",
    "bp.big.col.batch": "batch size",
    "bp.big.col.steps": "steps per epoch",
    "bp.big.col.measured": "steps measured",
    "bp.big.col.epoch": "s per epoch",
    "bp.big.col.memory": "peak memory above start (MiB)",
    "bp.big.col.loss": "loss after",
    "bp.big.lesson": "The full batch needs memory for N × hidden activations several times over and makes "
    "one step per epoch; mini-batches need almost no extra memory and make thousands of steps in the "
    "same time, each one a noisy but useful estimate of the gradient. That is why mini-batches exist.",
    "bp.save.why": "The slides save a model two ways, both with torch.save, which writes a **pickle**. Here "
    "the state_dict is saved as **safetensors**: a JSON header and raw numbers, which a loader reads "
    "without running anything. Download it, upload it back, and the predictions are compared.",
    "bp.save.download": "Download the weights (.safetensors)",
    "bp.save.upload": "Upload a .safetensors file to reload it",
    "bp.save.uploaded": "reloaded net",
    "bp.save.equal": "Reloaded Net(1, {h}, 1): its predictions equal the current net's at every x "
    "(largest difference {diff}).",
    "bp.save.differs": "Reloaded Net(1, {h}, 1), but its predictions differ from the current net's "
    "(largest difference {diff}): it holds other weights (trained further, or another width).",
    "bp.pickle.title": "Why not torch.save(net)? Unpickling runs code",
    "bp.pickle.explain": "A pickle is a small program: loading it may call any function the file names. "
    "The button builds, on the server, a torch.save file of this net with one extra object whose pickle "
    "says “call core.backprop.note_unpickling”, a harmless function that only records that it ran; then "
    "it loads those bytes (made here, never an upload) twice: with torch.load(weights_only=False), and "
    "with torch.load(weights_only=True), which only accepts tensors and plain containers. A stranger's "
    "file could name os.system instead. Safetensors avoids the question: it holds no code at all.",
    "bp.pickle.go": "Build and load the demonstration pickle",
    "bp.pickle.ran": "torch.load(weights_only=False) ran the function while loading; it returned: “{returned}”",
    "bp.pickle.refused": "torch.load(weights_only=True) refused the same bytes: {error}",
    "bp.pickle.sizes": "Sizes: the whole pickled net {whole:,} bytes; the state_dict as safetensors "
    "{state:,} bytes.",
}

ZH = {
    "nav.backprop": "手算反向传播",
    "home.backprop": "作业中的两层回归网络：推导四个梯度，用 autograd 和有限差分验证，训练，"
    "试试小批量，安全地保存模型。",
    "bp.intro": "种子 002 的作业：用 Net(1, 10, 1)（隐藏层用 sigmoid）拟合 y = x² + 0.2·rand，并给出 "
    "f = ‖Y − Y_pred‖²_F 对 W1、b1、W2、b2 的导数。这里每个公式都由手写代码计算，并与 PyTorch 对照。",
    "bp.section": "部分",
    "bp.section.net": "1 · 数据与网络",
    "bp.section.grads": "2 · 梯度",
    "bp.section.train": "3 · 训练",
    "bp.section.batch": "4 · 小批量",
    "bp.section.save": "5 · 保存",
    "bp.hidden": "隐藏单元数",
    "bp.hidden.help": "Net(1, n_hidden, 1) 中的 n_hidden；种子用 10。换一个宽度会按种子的方式重新初始化网络。",
    "bp.net.pred": "预测",
    "bp.net.which": "Net(1, {h}, 1)，种子的 100 个点（在第 1 部分修改宽度）。",
    "bp.net.loss": "f = ‖Y − Y_pred‖²",
    "bp.net.params": "参数个数",
    "bp.net.note": "种子的原始数据：100 个点，torch.manual_seed(1)。隐藏层有 1·{h} + {h} 个参数，"
    "输出层有 {h}·1 + 1 个；曲线是当前权重下网络的预测（在第 3 部分训练它）。",
    "bp.reduction": "损失",
    "bp.reduction.sum": "平方和（作业中的 f）",
    "bp.reduction.mean": "平方的均值（nn.MSELoss）",
    "bp.grads.maxdiff": "最大 |手写 − autograd|",
    "bp.grads.maxdiff.help": "取四个梯度的所有元素，用 float64 计算。低于约 1e-12 的差别只是舍入误差。",
    "bp.grads.ratio": "‖∇f和‖ / ‖∇f均值‖",
    "bp.grads.ratio.help": "取均值会把 f、从而把每个梯度都除以 N（这里是 100）。",
    "bp.grads.f": "当前 f",
    "bp.grads.sum_note": "用平方和时 G = 2(Y_pred − Y)：{n} 个点每个都贡献一项，梯度随 N 增大，"
    "学习率必须随之减小（这里的 0.002 就是幻灯片中对均值用的 0.2 除以 {n}）。",
    "bp.grads.mean_note": "用均值时 G = 2(Y_pred − Y)/{n}：每个梯度都是平方和情形的 1/{n}，"
    "要走同样的步子，学习率需要大 {n} 倍。",
    "bp.fd.title": "对某一个元素做有限差分检验",
    "bp.fd.param": "参数",
    "bp.fd.index": "元素序号（0 … {n} − 1，按展平计）",
    "bp.fd.hand": "手写的 ∂f/∂θ",
    "bp.fd.numeric": "(f(θ+ε) − f(θ−ε)) / 2ε",
    "bp.fd.diff": "|差|",
    "bp.fd.note": "中心差分有来自泰勒展开的 ε² 量级误差，以及 1e-16/ε 量级的舍入误差："
    "ε 太大或太小都会变差，ε ≈ 1e-6 大约最好。",
    "bp.lr": "学习率 η",
    "bp.lr.help": "在 100 个点的平方和上做 θ ← θ − η ∂f/∂θ。",
    "bp.steps": "每次训练的步数",
    "bp.train.go": "训练",
    "bp.train.one": "走一步",
    "bp.train.reset": "重置权重",
    "bp.train.hand": "手写梯度",
    "bp.train.sgd": "torch.optim.SGD + autograd",
    "bp.train.step": "步数",
    "bp.train.stable": "η 上限 2/λ_max",
    "bp.train.stable.help": "λ_max 是 f 在种子初始权重处 Hessian 矩阵的最大特征值。在极小值附近，"
    "梯度下降把每个方向上的误差乘以 |1 − η λ|；η 超过 2/λ_max 时这个因子大于 1，最初几步就会冲过头。",
    "bp.train.maxdiff": "最大 |θ手写 − θSGD|",
    "bp.train.steps_done": "已走步数",
    "bp.train.empty": "还没有训练：按“训练”或“走一步”。两种方法从同一组权重出发："
    "用手写梯度的普通梯度下降，以及 torch.optim.SGD 加 autograd。",
    "bp.train.took": "本部分（这一步和两张图）在服务器上用时 {ms} 毫秒。",
    "bp.train.running": "训练中：第 {step} 步，f = {loss_hand:.4f}",
    "bp.train.done": "完成：{steps} 步，用时 {s} 秒，f = {f}；手写梯度与 torch.optim.SGD 的权重之差"
    "始终不超过 {diff}。",
    "bp.train.diverged": "η = {lr} 发散：损失在第 {step} 步爆炸，训练在那里停止（显示的是最后一组有限的权重，"
    "不会画出 NaN）。原因：f 对 b2 是二次函数，二阶导数为 2N = 2·{n}，所以 η 一旦超过 2/(2N) = {bound}，"
    "b2 每一步都会越冲越远；而 η 超过 {stable}（起点处的 2/λ_max）时，最初几步就已经冲过头。"
    "请选更小的 η，再按“重置权重”。",
    "bp.batch.size": "批大小 |B|",
    "bp.batch.epochs": "轮数（epoch）",
    "bp.batch.lr": "η（均值损失，同幻灯片）",
    "bp.batch.ms": "每轮毫秒数",
    "bp.batch.final": "训练后损失（全部 100 个点）",
    "bp.batch.diverged": "B = {b}、η = {lr} 发散：损失爆炸，训练在那里停止（不会画出无穷大）。"
    "小批量的梯度有噪声；η 很大时，一个不走运的批次就会把权重甩得很远。请选更小的 η。",
    "bp.batch.epoch": "轮（epoch）",
    "bp.batch.loss": "批损失",
    "bp.batch.note": "小批量每轮走 N/|B| 步带噪声的步子：损失曲线抖动，但每轮下降得多得多。"
    "整批（B = 100）每轮只走一步精确的步子：曲线平滑但下降慢。时间是在这台机器上测得的。",
    "bp.big.title": "幻灯片中的 10,000,000 个点",
    "bp.big.explain": "在 torch.linspace(-1, 1, 10000000) 上，用同一个网络对从 100 到整批的几种批大小各测一轮的时间；"
    "在单独的进程中用一个 CPU 线程运行（这样它的内存可以单独测量），每种批大小最多 2 秒：更长的一轮按已测的批次外推。"
    "每种批大小都从种子的网络出发；最后一列是测完这些批次后的损失。",
    "bp.big.go": "在 10,000,000 个点上测量",
    "bp.big.running": "测量中：已完成 5 个阶段中的 {done} 个",
    "bp.big.done": "已在这台机器上测量完毕。",
    "bp.big.data": "数据 x 与 y：{mb:.0f} MiB（float32），生成用时 {s:.1f} 秒。",
    "bp.big.col.batch": "批大小",
    "bp.big.col.steps": "每轮步数",
    "bp.big.col.measured": "已测步数",
    "bp.big.col.epoch": "每轮秒数",
    "bp.big.col.memory": "内存峰值增量（MiB）",
    "bp.big.col.loss": "之后的损失",
    "bp.big.lesson": "整批需要好几份 N × 隐藏单元数 大小的激活值内存，每轮只走一步；"
    "小批量几乎不需要额外内存，同样的时间里能走成千上万步，每一步都是对梯度有噪声但有用的估计。"
    "这就是小批量存在的原因。",
    "bp.save.why": "幻灯片用两种方式保存模型，都用 torch.save，写出的是 **pickle**。这里把 state_dict 保存为 "
    "**safetensors**：一个 JSON 文件头加原始数字，加载时不执行任何东西。下载它，再上传回来，比较预测。",
    "bp.save.download": "下载权重（.safetensors）",
    "bp.save.upload": "上传 .safetensors 文件重新加载",
    "bp.save.uploaded": "重新加载的网络",
    "bp.save.equal": "已重新加载 Net(1, {h}, 1)：它在每个 x 上的预测都与当前网络相同（最大差 {diff}）。",
    "bp.save.differs": "已重新加载 Net(1, {h}, 1)，但它的预测与当前网络不同（最大差 {diff}）："
    "它保存的是另一组权重（训练得更久，或宽度不同）。",
    "bp.pickle.title": "为什么不用 torch.save(net)？反序列化会执行代码",
    "bp.pickle.explain": "pickle 是一段小程序：加载它可能调用文件中点名的任何函数。这个按钮在服务器上为当前网络生成一个 "
    "torch.save 文件，里面多放一个对象，它的 pickle 写着“调用 core.backprop.note_unpickling”——"
    "一个无害的函数，只记录自己被执行过；然后把这些字节（在这里生成，绝不是上传的文件）加载两次："
    "用 torch.load(weights_only=False)，以及只接受张量和普通容器的 torch.load(weights_only=True)。"
    "陌生人的文件完全可以点名 os.system。safetensors 根本不含代码，也就没有这个问题。",
    "bp.pickle.go": "生成并加载演示用的 pickle",
    "bp.pickle.ran": "torch.load(weights_only=False) 在加载时执行了那个函数；它返回：“{returned}”",
    "bp.pickle.refused": "torch.load(weights_only=True) 拒绝了同样的字节：{error}",
    "bp.pickle.sizes": "大小：整个网络的 pickle 为 {whole:,} 字节；state_dict 的 safetensors 为 {state:,} 字节。",
}
