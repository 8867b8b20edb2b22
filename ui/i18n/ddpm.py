"""Strings of the MNIST diffusion page (area `ddpm.`), plus its nav title and home blurb."""

EN = {
    "nav.diffusion": "Diffusion you can train (MNIST)",
    "home.diffusion": "A real diffusion model, trained here on MNIST: sampling step by step, img2img from your "
    "own drawing, guidance, and the strength × guidance sheet.",
    "ddpm.intro": "This is **the same algorithm as Stable Diffusion, minus the VAE and the text encoder**: "
    "the UNet denoises 28×28 **pixels instead of latents**, and it is told **a class label instead of a "
    "prompt**. The schedulers (DDPM, DDIM, PNDM), the strength arithmetic and classifier-free guidance "
    "are the same code.",
    "ddpm.none": "No trained diffusion model for {dataset} is cached yet. Train one below (about {minutes} "
    "minutes on 2 CPU cores, seconds on a GPU), or run `make prepare` before class.",
    "ddpm.model.cached": "Model: cached checkpoint, {steps} training steps, {params:,} parameters, "
    "final loss {loss:.4f}.",
    "ddpm.model.session": "Model: trained in this session, {steps} steps, {params:,} parameters, "
    "final loss {loss:.4f}.",
    "ddpm.dataset": "Data set",
    "ddpm.dataset.mnist": "MNIST digits",
    "ddpm.dataset.fashion": "Fashion-MNIST",
    "ddpm.train.header": "Train a diffusion model",
    "ddpm.train.again": "Train again",
    "ddpm.train.steps": "Training steps (batches of {batch})",
    "ddpm.train.button": "Train",
    "ddpm.train.explain": "Each step: take a batch of images, pick a random timestep t for each, add the "
    "noise of t (x_t = √ᾱ_t·x₀ + √(1−ᾱ_t)·ε), and teach the UNet to predict ε. One label in ten is "
    "replaced by “no label”, so the same UNet also learns the unconditional prediction guidance needs.",
    "ddpm.train.progress": "Step {step} of {total}: loss {loss:.4f} ({elapsed:.0f} s, about {eta} s left)",
    "ddpm.train.loss": "loss (MSE)",
    "ddpm.train.step": "step",
    "ddpm.train.series": "training",
    "ddpm.train.done": "Trained {steps} steps in {seconds:.0f} s: final loss {loss:.4f}. Saved for everyone.",
    "ddpm.train.stopped": "Stopped after {steps} steps (loss {loss:.4f}); this model is used in this session.",
    "ddpm.label": "Class to draw",
    "ddpm.scheduler": "Scheduler",
    "ddpm.scheduler.help": "DDPM adds fresh noise at every step; DDIM and PNDM are deterministic. With this small "
    "model, DDIM's samples blur into blobs at high guidance while DDPM's stay digits: try both at w = 3.",
    "ddpm.steps": "Steps",
    "ddpm.guidance": "Guidance scale w",
    "ddpm.guidance.help": "ε̂ = ε̂_uncond + w·(ε̂_cond − ε̂_uncond). w = 0: the label is ignored; w = 1: the "
    "conditional prediction alone; w > 1: pushed further towards the label.",
    "ddpm.seed": "Noise seed",
    "ddpm.tab.sample": "Sample from noise",
    "ddpm.tab.img2img": "img2img from your drawing",
    "ddpm.tab.sheet": "Strength × guidance",
    "ddpm.ran": "{n} UNet steps ran, at t = {first} → {last}, each on a batch of 2 (with and without the "
    "label), in {seconds:.2f} s.",
    "ddpm.arith.text": "steps × strength = {steps} × {strength:g} = {product:.2f} → int = {kept}: the first "
    "{skipped} of {steps} steps are skipped, the drawing is noised to t = {first}, and {n} steps run.",
    "ddpm.scrub": "Step",
    "ddpm.scrub.help": "Move through the steps that ran: what the model sees (x_t) and what it predicts "
    "the clean image to be (x̂₀).",
    "ddpm.xt": "x_t after step {k}",
    "ddpm.x0": "x̂₀ (guided)",
    "ddpm.x0.cond": "x̂₀ with label (w = 1)",
    "ddpm.x0.uncond": "x̂₀ without label (w = 0)",
    "ddpm.start": "start: t = {t}",
    "ddpm.final": "result",
    "ddpm.x0.explain": "x̂₀ = (x_t − √(1−ᾱ_t)·ε̂) / √ᾱ_t: at early steps it is a blurry average digit; the "
    "guided one moves away from the unlabelled guess by w times the difference the label makes.",
    "ddpm.strength": "Strength",
    "ddpm.strength.help": "The fraction of the schedule that runs: 0 keeps the drawing, 1 starts from "
    "(almost) pure noise. Low strength tidies a sloppy digit; high strength with high guidance can turn it "
    "into another class.",
    "ddpm.input": "input",
    "ddpm.noised": "noised to t = {t}",
    "ddpm.sheet.caption": "The same drawing and seed, img2img at every strength (rows) and guidance "
    "(columns), with the DDPM scheduler.",
    "ddpm.unet.title": "This UNet, block by block (Stable Diffusion's: UNet block inspector)",
    "ddpm.trace": "x̂₀ (guided) at each step that ran, with its timestep",
    "ddpm.busy_model": "Train or load a model first.",
}

ZH = {
    "nav.diffusion": "可训练的扩散模型（MNIST）",
    "home.diffusion": "在本机用 MNIST 训练的真实扩散模型：逐步采样、从你画的数字做图生图、引导系数，以及强度 × 引导对照表。",
    "ddpm.intro": "这与 Stable Diffusion 是**同一个算法，只是去掉了 VAE 和文本编码器**：UNet 直接对 28×28 的"
    "**像素而不是潜变量**去噪，告诉它的是**类别标签而不是提示词**。调度器（DDPM、DDIM、PNDM）、强度的步数"
    "计算和无分类器引导都是同一套代码。",
    "ddpm.none": "还没有缓存 {dataset} 的扩散模型。请在下面训练一个（2 个 CPU 核约 {minutes} 分钟，GPU 上几秒），"
    "或在上课前运行 `make prepare`。",
    "ddpm.model.cached": "模型：已缓存的检查点，训练 {steps} 步，{params:,} 个参数，最终损失 {loss:.4f}。",
    "ddpm.model.session": "模型：本次会话中训练，{steps} 步，{params:,} 个参数，最终损失 {loss:.4f}。",
    "ddpm.dataset": "数据集",
    "ddpm.dataset.mnist": "MNIST 手写数字",
    "ddpm.dataset.fashion": "Fashion-MNIST",
    "ddpm.train.header": "训练一个扩散模型",
    "ddpm.train.again": "重新训练",
    "ddpm.train.steps": "训练步数（每批 {batch} 张）",
    "ddpm.train.button": "训练",
    "ddpm.train.explain": "每一步：取一批图像，为每张随机选一个时间步 t，加上 t 对应的噪声"
    "（x_t = √ᾱ_t·x₀ + √(1−ᾱ_t)·ε），让 UNet 学会预测 ε。每十个标签中有一个被换成“无标签”，"
    "这样同一个 UNet 也学会了引导所需的无条件预测。",
    "ddpm.train.progress": "第 {step}/{total} 步：损失 {loss:.4f}（已用 {elapsed:.0f} 秒，约剩 {eta} 秒）",
    "ddpm.train.loss": "损失（均方误差）",
    "ddpm.train.step": "步",
    "ddpm.train.series": "训练",
    "ddpm.train.done": "训练了 {steps} 步，用时 {seconds:.0f} 秒：最终损失 {loss:.4f}。已保存，所有人都可使用。",
    "ddpm.train.stopped": "在第 {steps} 步停止（损失 {loss:.4f}）；本次会话使用这个模型。",
    "ddpm.label": "要生成的类别",
    "ddpm.scheduler": "调度器",
    "ddpm.scheduler.help": "DDPM 每一步都加入新的噪声；DDIM 和 PNDM 是确定性的。这个小模型在引导系数较大时，"
    "DDIM 的样本会糊成一团，DDPM 的仍然是数字：在 w = 3 下两个都试试。",
    "ddpm.steps": "步数",
    "ddpm.guidance": "引导系数 w",
    "ddpm.guidance.help": "ε̂ = ε̂_无条件 + w·(ε̂_有条件 − ε̂_无条件)。w = 0：忽略标签；w = 1：只用有条件预测；"
    "w > 1：进一步推向该标签。",
    "ddpm.seed": "噪声种子",
    "ddpm.tab.sample": "从噪声采样",
    "ddpm.tab.img2img": "从你的画做图生图",
    "ddpm.tab.sheet": "强度 × 引导",
    "ddpm.ran": "实际运行了 {n} 个 UNet 步，t = {first} → {last}，每步一批 2 张（有标签和无标签），"
    "用时 {seconds:.2f} 秒。",
    "ddpm.arith.text": "步数 × 强度 = {steps} × {strength:g} = {product:.2f} → 取整 = {kept}：跳过 {steps} 步中的"
    "前 {skipped} 步，把画加噪到 t = {first}，运行 {n} 步。",
    "ddpm.scrub": "步",
    "ddpm.scrub.help": "在实际运行的步之间移动：模型看到的（x_t）和它预测的干净图像（x̂₀）。",
    "ddpm.xt": "第 {k} 步后的 x_t",
    "ddpm.x0": "x̂₀（引导后）",
    "ddpm.x0.cond": "有标签的 x̂₀（w = 1）",
    "ddpm.x0.uncond": "无标签的 x̂₀（w = 0）",
    "ddpm.start": "起点：t = {t}",
    "ddpm.final": "结果",
    "ddpm.x0.explain": "x̂₀ = (x_t − √(1−ᾱ_t)·ε̂) / √ᾱ_t：早期步里它是模糊的“平均数字”；引导后的预测沿着"
    "“有标签与无标签之差”的方向，走了 w 倍的距离。",
    "ddpm.strength": "强度",
    "ddpm.strength.help": "运行的调度比例：0 保留原画，1 从（几乎）纯噪声开始。低强度把潦草的数字变整齐；"
    "高强度加高引导可以把它变成另一个类别。",
    "ddpm.input": "输入",
    "ddpm.noised": "加噪到 t = {t}",
    "ddpm.sheet.caption": "同一幅画、同一个种子，用 DDPM 调度器在每个强度（行）和引导系数（列）下做图生图。",
    "ddpm.unet.title": "这个 UNet 的各个模块（Stable Diffusion 的 UNet：见 UNet 模块检查器）",
    "ddpm.trace": "每个实际运行的步上（引导后）的 x̂₀ 及其时间步",
    "ddpm.busy_model": "请先训练或加载一个模型。",
}
