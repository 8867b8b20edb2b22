"""Strings of the VAE sampler page (area `vae.`)."""

EN = {
    "vae.intro": "A variational autoencoder (the project report's convolutional VAE): the encoder maps a "
    "digit to a Gaussian over the latent variable z (mean μ, log-variance log σ²), the "
    "decoder maps z back to an image. Train it, then sample new digits, interpolate between "
    "two, and walk the latent space.",
    "vae.settings": "Model",
    "vae.dataset": "Dataset",
    "vae.dataset.mnist": "MNIST digits",
    "vae.dataset.fashion": "Fashion-MNIST clothes",
    "vae.z": "Latent size z",
    "vae.z.help": "z = 2 lets you draw the whole latent space as a plane, but a short run then squeezes "
    "similar digits into one cloud; z = 8 (the default) keeps digits apart and reconstructs them sharper.",
    "vae.beta": "β (weight of the KL term)",
    "vae.beta.help": "Loss = reconstruction + β·KL. A small β gives sharp reconstructions but a patchy "
    "latent space (samples from N(0, I) look worse); a large β gives a smooth latent "
    "space but blurry digits. β = 0 is a plain autoencoder.",
    "vae.loss": "Per image: loss = reconstruction (BCE summed over the 784 pixels) + β·KL(q(z|x) ‖ N(0, "
    "I)), in nats.",
    "vae.model.cached": "Using the saved checkpoint, the best run so far for these settings (epochs: {epochs}, "
    "test loss {test_loss:.1f} nats = reconstruction {test_recon:.1f} + KL {test_kl:.1f}).",
    "vae.model.session": "Using the VAE you trained in this session (epochs: {epochs}, test loss "
    "{test_loss:.1f} nats = reconstruction {test_recon:.1f} + KL {test_kl:.1f}).",
    "vae.none": "There is no trained VAE for {dataset}, z = {z}, β = {beta} yet. Train one below (`make "
    "prepare` trains MNIST with z = 8 and z = 2, β = 1, for 5 epochs before class).",
    "vae.train.header": "Train a VAE with these settings",
    "vae.train.again": "Train again (more epochs, another β)",
    "vae.train.epochs": "Epochs",
    "vae.train.subset": "Training images",
    "vae.train.button": "Train",
    "vae.train.progress": "Epoch {epoch:.2f}: loss {loss:.1f} nats = reconstruction {recon:.1f} + β·KL "
    "({kl:.1f})",
    "vae.train.recon": "Reconstruction (BCE, nats per image)",
    "vae.train.kl": "KL divergence (nats per image)",
    "vae.train.done.kept": "Done: {epochs:g} epoch(s) in {seconds:.0f} s: test loss {test_loss:.1f} nats = "
    "reconstruction {test_recon:.1f} + KL {test_kl:.1f}. It is now the saved model new sessions start from.",
    "vae.train.done.best": "Done: {epochs:g} epoch(s) in {seconds:.0f} s: test loss {test_loss:.1f} nats = "
    "reconstruction {test_recon:.1f} + KL {test_kl:.1f}. The saved model stays, its test loss is lower "
    "({best_loss:.1f} nats); this page uses yours until you leave.",
    "vae.train.stopped.kept": "Stopped after {epochs:.2f} epochs ({seconds:.0f} s); what it learned is kept: "
    "test loss {test_loss:.1f} nats. It is now the saved model new sessions start from.",
    "vae.train.stopped.best": "Stopped after {epochs:.2f} epochs ({seconds:.0f} s); what it learned is kept "
    "in this session: test loss {test_loss:.1f} nats. The saved model stays, its test loss is lower "
    "({best_loss:.1f} nats).",
    "vae.train.step": "step",
    "vae.train.value": "nats",
    "vae.train.split": "data",
    "vae.train.train": "train",
    "vae.train.test": "test",
    "vae.tab.sample": "Sample",
    "vae.tab.interp": "Interpolate",
    "vae.tab.latent": "Latent space",
    "vae.tab.recon": "Reconstructions",
    "vae.sample.explain": "Each image is decode(z) for a z drawn from the prior N(0, I): new digits the "
    "model never saw. The same seed gives the same grid.",
    "vae.sample.n": "Number of samples",
    "vae.sample.seed": "Sample seed",
    "vae.sample.new": "New samples",
    "vae.interp.explain": "Both images are encoded to their means μ; the strip decodes the points on the "
    "path from one to the other. The first and last images are the two "
    "reconstructions.",
    "vae.interp.source": "Endpoints",
    "vae.interp.source.test": "from the test set",
    "vae.interp.source.draw": "draw them",
    "vae.interp.a": "Start",
    "vae.interp.b": "End",
    "vae.interp.method": "Path",
    "vae.interp.linear": "linear",
    "vae.interp.slerp": "spherical (slerp)",
    "vae.interp.both": "both, to compare",
    "vae.interp.method.help": "Linear: (1−t)·z₀ + t·z₁. Slerp follows the great circle between the two "
    "directions, so the points keep a typical length under N(0, I) instead of "
    "dipping towards the centre.",
    "vae.interp.steps": "Steps",
    "vae.interp.gif": "Download the animation (GIF)",
    "vae.latent.explain2": "With z = 2 the whole latent space is a plane. Left: decode(z) over a grid of z "
    "(Gaussian quantiles 5%…95%, z₂ upwards). Right: where the encoder puts the "
    "test images (μ), coloured by class.",
    "vae.latent.manifold": "Decoded manifold",
    "vae.latent.scatter": "Test images in latent space ({n} points)",
    "vae.latent.scatterN": "Test images in latent space ({n} points; μ seen along its two main directions)",
    "vae.latent.explainN": "With z = {z} we cannot draw the space. Right: the test images' μ along the "
    "two directions in which they vary most (PCA). Left: move one latent dimension at a time and watch "
    "the decoded image change.",
    "vae.latent.start": "Start from",
    "vae.latent.start.zero": "the centre, z = 0",
    "vae.latent.start.digit": "the start image of the Interpolate tab (its μ)",
    "vae.latent.reset": "Reset the sliders",
    "vae.latent.decoded": "decode(z)",
    "vae.latent.class": "class",
    "vae.recon.explain": "Top: test images. Bottom: decode(μ(x)), what comes back through the {z}-number "
    "bottleneck.",
    "vae.recon.inputs": "Inputs",
    "vae.recon.outputs": "Reconstructions",
    "vae.recon.shuffle": "Other images",
}

ZH = {
    "vae.intro": "变分自编码器（项目报告中的卷积 VAE）：编码器把一个数字映射为潜变量 z 上的高斯分布（均值 μ"
    "、对数方差 log σ²），解码器再把 z 映射回图像。先训练，再采样新数字、在两个数字之间插值、"
    "漫游潜变量空间。",
    "vae.settings": "模型",
    "vae.dataset": "数据集",
    "vae.dataset.mnist": "MNIST 手写数字",
    "vae.dataset.fashion": "Fashion-MNIST 服饰",
    "vae.z": "潜变量维度 z",
    "vae.z.help": "z = 2 时整个潜变量空间可以画成一个平面，但短时间训练会把相似的数字挤成一团；"
    "z = 8（默认）能把不同数字分开，重构也更清晰。",
    "vae.beta": "β（KL 项的权重）",
    "vae.beta.help": "损失 = 重构误差 + β·KL。β 小：重构清晰，但潜变量空间不连续（从 N(0, I) 采样效果变差）"
    "；β 大：潜变量空间平滑，但数字变模糊。β = 0 就是普通自编码器。",
    "vae.loss": "每张图像：损失 = 重构误差（784 个像素的 BCE 之和）+ β·KL(q(z|x) ‖ N(0, I))，单位为 nats。",
    "vae.model.cached": "正在使用已保存的检查点，即这些设置下目前最好的一次训练（{epochs} 个轮次，测试损失 "
    "{test_loss:.1f} nats = 重构 {test_recon:.1f} + KL {test_kl:.1f}）。",
    "vae.model.session": "正在使用你在本会话中训练的 VAE（{epochs} 个轮次，测试损失 {test_loss:.1f} nats = "
    "重构 {test_recon:.1f} + KL {test_kl:.1f}）。",
    "vae.none": "还没有 {dataset}、z = {z}、β = {beta} 的已训练 VAE。请在下面训练一个（课前运行 "
    "`make prepare` 会在 MNIST 上训练 z = 8 和 z = 2、β = 1 的模型各 5 轮）。",
    "vae.train.header": "用这些设置训练一个 VAE",
    "vae.train.again": "重新训练（更多轮次、换一个 β）",
    "vae.train.epochs": "轮次",
    "vae.train.subset": "训练图像数",
    "vae.train.button": "训练",
    "vae.train.progress": "第 {epoch:.2f} 轮：损失 {loss:.1f} nats = 重构 {recon:.1f} + β·KL（{kl:.1f}）",
    "vae.train.recon": "重构误差（BCE，每张图像的 nats）",
    "vae.train.kl": "KL 散度（每张图像的 nats）",
    "vae.train.done.kept": "训练了 {epochs:g} 轮，用时 {seconds:.0f} 秒：测试损失 {test_loss:.1f} nats = 重构 "
    "{test_recon:.1f} + KL {test_kl:.1f}。它现在是新会话开始时使用的已保存模型。",
    "vae.train.done.best": "训练了 {epochs:g} 轮，用时 {seconds:.0f} 秒：测试损失 {test_loss:.1f} nats = 重构 "
    "{test_recon:.1f} + KL {test_kl:.1f}。已保存的模型测试损失更低（{best_loss:.1f} nats），因此保留它；"
    "在你离开之前，本页面使用你的模型。",
    "vae.train.stopped.kept": "已停止：训练了 {epochs:.2f} 轮（{seconds:.0f} 秒），已学到的保留：测试损失 "
    "{test_loss:.1f} nats。它现在是新会话开始时使用的已保存模型。",
    "vae.train.stopped.best": "已停止：训练了 {epochs:.2f} 轮（{seconds:.0f} 秒），已学到的保留在本会话中：测试损失 "
    "{test_loss:.1f} nats。已保存的模型测试损失更低（{best_loss:.1f} nats），因此保留它。",
    "vae.train.step": "步数",
    "vae.train.value": "nats",
    "vae.train.split": "数据",
    "vae.train.train": "训练集",
    "vae.train.test": "测试集",
    "vae.tab.sample": "采样",
    "vae.tab.interp": "插值",
    "vae.tab.latent": "潜变量空间",
    "vae.tab.recon": "重构",
    "vae.sample.explain": "每张图像都是 decode(z)，其中 z 从先验 N(0, I) 中采样：这些是模型从未见过的新数字"
    "。相同的种子给出相同的网格。",
    "vae.sample.n": "采样数量",
    "vae.sample.seed": "采样种子",
    "vae.sample.new": "重新采样",
    "vae.interp.explain": "两张图像先被编码为各自的均值 μ；下面一行把两点之间路径上的点逐个解码。第一张和最"
    "后一张就是两张图像的重构。",
    "vae.interp.source": "端点",
    "vae.interp.source.test": "来自测试集",
    "vae.interp.source.draw": "自己画",
    "vae.interp.a": "起点",
    "vae.interp.b": "终点",
    "vae.interp.method": "路径",
    "vae.interp.linear": "线性",
    "vae.interp.slerp": "球面（slerp）",
    "vae.interp.both": "两种都显示，便于比较",
    "vae.interp.method.help": "线性：(1−t)·z₀ + t·z₁。球面插值沿两个方向之间的大圆走，路径上的点在 N(0, I) "
    "下保持典型的长度，而不会向中心塌缩。",
    "vae.interp.steps": "步数",
    "vae.interp.gif": "下载动画（GIF）",
    "vae.latent.explain2": "z = 2 时整个潜变量空间是一个平面。左：在 z 的网格上解码（高斯分位数 5%…95%，z₂ "
    "向上）。右：编码器把测试图像放在哪里（μ），按类别着色。",
    "vae.latent.manifold": "解码流形",
    "vae.latent.scatter": "测试图像在潜变量空间中的位置（{n} 个点）",
    "vae.latent.scatterN": "测试图像在潜变量空间中的位置（{n} 个点；沿 μ 变化最大的两个方向）",
    "vae.latent.explainN": "z = {z} 时无法画出整个空间。右：测试图像的 μ 沿它们变化最大的两个方向（PCA）的位置。"
    "左：每次拖动一个潜变量维度，观察解码图像的变化。",
    "vae.latent.start": "起始位置",
    "vae.latent.start.zero": "中心 z = 0",
    "vae.latent.start.digit": "“插值”页中起点图像的 μ",
    "vae.latent.reset": "重置滑块",
    "vae.latent.decoded": "decode(z)",
    "vae.latent.class": "类别",
    "vae.recon.explain": "上：测试图像。下：decode(μ(x))，即通过 {z} 个数的瓶颈之后还原出的图像。",
    "vae.recon.inputs": "输入",
    "vae.recon.outputs": "重构",
    "vae.recon.shuffle": "换一批图像",
}
